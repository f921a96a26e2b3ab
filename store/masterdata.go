package store

// MaxChildren bounds how many children (sub-tasks, sub-task templates) one
// object may have, removed ones included, so that FindChildren, which reads
// them all, stays bounded. FindChildren gives the oldest MaxChildren
// children and leaves out any beyond them, so a caller must not let an
// object have more: the gateway refuses to add a child to an object that
// has MaxChildren already.
const MaxChildren = 1000

// Identifier is a regulatory identifier of a company, a location or a
// product: Type such as "GLN", "SGLN", "DUNS", "GTIN" or "US_NDC532", Value
// as given.
type Identifier struct {
	Type  string `bson:"type" json:"type"`
	Value string `bson:"value" json:"value"`
}

// Address is a postal address of master data.
type Address struct {
	Address1    string `bson:"address1,omitempty" json:"address1,omitempty"`
	Address2    string `bson:"address2,omitempty" json:"address2,omitempty"`
	HouseNumber string `bson:"houseNumber,omitempty" json:"houseNumber,omitempty"`
	City        string `bson:"city,omitempty" json:"city,omitempty"`
	District    string `bson:"district,omitempty" json:"district,omitempty"`
	Village     string `bson:"village,omitempty" json:"village,omitempty"`
	Township    string `bson:"township,omitempty" json:"township,omitempty"`
	State       string `bson:"state,omitempty" json:"state,omitempty"`
	PostalCode  string `bson:"postalCode,omitempty" json:"postalCode,omitempty"`
	Country     string `bson:"country,omitempty" json:"country,omitempty"`
}

// CompanyMasterData is a company's master data, as the seed declares it for
// the master-data queries: its business name, identifiers and address, its
// locations (partner-location master data to the companies it works with)
// and its products.
type CompanyMasterData struct {
	BusinessName string               `bson:"businessName,omitempty" json:"businessName,omitempty"`
	Identifiers  []Identifier         `bson:"identifiers,omitempty" json:"identifiers,omitempty"`
	Address      *Address             `bson:"address,omitempty" json:"address,omitempty"`
	Locations    []LocationMasterData `bson:"locations,omitempty" json:"locations,omitempty"`
	Products     []ProductMasterData  `bson:"products,omitempty" json:"products,omitempty"`
}

// LocationMasterData is one location of a company.
type LocationMasterData struct {
	ID           string       `bson:"id" json:"id"`
	BusinessName string       `bson:"businessName,omitempty" json:"businessName,omitempty"`
	LocationType string       `bson:"locationType,omitempty" json:"locationType,omitempty"`
	Identifiers  []Identifier `bson:"identifiers,omitempty" json:"identifiers,omitempty"`
	Address      *Address     `bson:"address,omitempty" json:"address,omitempty"`
}

// ProductMasterData is one product of a company, found by its item codes
// (GTIN, NDC).
type ProductMasterData struct {
	ID          string       `bson:"id" json:"id"`
	Name        string       `bson:"name,omitempty" json:"name,omitempty"`
	Description string       `bson:"description,omitempty" json:"description,omitempty"`
	DosageForm  string       `bson:"dosageForm,omitempty" json:"dosageForm,omitempty"`
	Strength    string       `bson:"strength,omitempty" json:"strength,omitempty"`
	PackageSize string       `bson:"packageSize,omitempty" json:"packageSize,omitempty"`
	ItemCodes   []Identifier `bson:"itemCodes,omitempty" json:"itemCodes,omitempty"`
}
