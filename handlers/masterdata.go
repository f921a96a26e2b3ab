package handlers

import (
	"context"
	"strings"

	"github.com/scwm-gateway/scwm-gateway/envelope"
	"github.com/scwm-gateway/scwm-gateway/store"
)

// masterQuery is what a master-data query looks for by a regulatory
// identifier.
type masterQuery int

const (
	// masterCompany: a company's own master data.
	masterCompany masterQuery = iota
	// masterPartner: another company of a shared network, or one of its
	// locations (partner-location master data).
	masterPartner
	// masterCompanyOrPartner: the caller's own, or else a partner's
	// (TraceLink's GraphQL scripts look up both with Getcompanybyidentifier).
	masterCompanyOrPartner
)

// masterEntry is one master-data record an identifier finds.
type masterEntry struct {
	companyID string
	// location is set for a location's record.
	location *store.LocationMasterData
	// product is set for a product's record.
	product *store.ProductMasterData
	company *store.Company
}

// masterData indexes the master data the seed declares (companies, their
// locations, their products) by identifier, so that a query is a map
// lookup. Keys are the identifier's type in upper case and its value as
// given.
type masterData struct {
	byIdentifier map[string][]masterEntry
	byItemCode   map[string][]masterEntry
	// byID finds a company, location or product by its id, for the
	// relations of GraphQL's objects (MasterDataByID).
	byID map[string]masterEntry
}

func masterKey(typ, value string) string {
	return strings.ToUpper(strings.TrimSpace(typ)) + "\x00" + strings.TrimSpace(value)
}

// newMasterData indexes the master data of companies.
func newMasterData(companies []store.Company) *masterData {
	md := &masterData{byIdentifier: map[string][]masterEntry{}, byItemCode: map[string][]masterEntry{}, byID: map[string]masterEntry{}}
	for i := range companies {
		c := &companies[i]
		m := c.MasterData
		if m == nil {
			continue
		}
		md.byID[c.ID] = masterEntry{companyID: c.ID, company: c}
		for _, id := range m.Identifiers {
			k := masterKey(id.Type, id.Value)
			md.byIdentifier[k] = append(md.byIdentifier[k], masterEntry{companyID: c.ID, company: c})
		}
		for j := range m.Locations {
			loc := &m.Locations[j]
			md.byID[loc.ID] = masterEntry{companyID: c.ID, company: c, location: loc}
			for _, id := range loc.Identifiers {
				k := masterKey(id.Type, id.Value)
				md.byIdentifier[k] = append(md.byIdentifier[k], masterEntry{companyID: c.ID, company: c, location: loc})
			}
		}
		for j := range m.Products {
			p := &m.Products[j]
			md.byID[p.ID] = masterEntry{companyID: c.ID, company: c, product: p}
			for _, code := range p.ItemCodes {
				k := masterKey(code.Type, code.Value)
				md.byItemCode[k] = append(md.byItemCode[k], masterEntry{companyID: c.ID, company: c, product: p})
			}
		}
	}
	return md
}

// companyByIdentifier answers the company and partner queries: the first
// record the identifier finds that the caller may see. A company's own
// master data is its own to see (get-company); another company's, and its
// locations', are seen by the companies that share a process network with
// it (get-partner). Anything else is the same 404 as an unknown identifier.
func (g *Gateway) companyByIdentifier(q masterQuery, valueField string) HandlerFunc {
	return func(ctx context.Context, call *Call) (any, error) {
		typ := stringField(call.Payload, "regulatoryCompanyIdentifierType")
		value := stringField(call.Payload, valueField)
		caller := call.Caller.CompanyID
		entries := g.dir.masterData().byIdentifier[masterKey(typ, value)]
		for _, e := range entries {
			if q != masterPartner && e.companyID == caller {
				return g.masterRecord(caller, e), nil
			}
		}
		for _, e := range entries {
			if q != masterCompany && e.companyID != caller && g.dir.SharesNetwork(caller, e.companyID) {
				return g.masterRecord(caller, e), nil
			}
		}
		what := map[masterQuery]string{masterCompany: "company", masterPartner: "partner", masterCompanyOrPartner: "company or partner"}[q]
		return nil, envelope.Errorf(envelope.KindObjectNotFound,
			"no %s master data with %s %q is visible to company %q", what, typ, value, caller)
	}
}

// productByItemCode answers get-product-by-itemcode: a product of the
// caller's company or of a company it shares a process network with.
func (g *Gateway) productByItemCode(ctx context.Context, call *Call) (any, error) {
	typ := stringField(call.Payload, "regulatoryItemCodeType")
	value := stringField(call.Payload, "regulatoryItemCodeValue")
	caller := call.Caller.CompanyID
	for _, e := range g.dir.masterData().byItemCode[masterKey(typ, value)] {
		if e.companyID == caller || g.dir.SharesNetwork(caller, e.companyID) {
			return productRecord(e), nil
		}
	}
	return nil, envelope.Errorf(envelope.KindObjectNotFound,
		"no product master data with item code %s %q is visible to company %q", typ, value, caller)
}

// MasterDataByID is the master-data record (a company's, a location's or
// a product's, as the master-data queries answer it) with the given id,
// when company may see it: its own, or a company's it shares a process
// network with.
func (g *Gateway) MasterDataByID(company, id string) (map[string]any, bool) {
	e, ok := g.dir.masterData().byID[id]
	if !ok || (e.companyID != company && !g.dir.SharesNetwork(company, e.companyID)) {
		return nil, false
	}
	return g.masterRecord(company, e), true
}

// masterRecord is e as the caller company sees it: its own company and
// locations, or a partner's.
func (g *Gateway) masterRecord(caller string, e masterEntry) map[string]any {
	own := e.companyID == caller
	switch {
	case e.product != nil:
		return productRecord(e)
	case e.location != nil && own:
		return locationRecord(e.company, e.location, "companyLocationMasterData")
	case e.location != nil:
		return locationRecord(e.company, e.location, "partnerLocationMasterData")
	}
	rec := companyRecord(e.company)
	if !own {
		rec["objectType"] = appMasterData + ":partnerMasterData"
	}
	return rec
}

// productRecord is a product's master data as the queries answer it.
func productRecord(e masterEntry) map[string]any {
	p := e.product
	return map[string]any{
		"id":         p.ID,
		"objectType": appMasterData + ":productMasterData",
		"ownerId":    e.companyID,
		"data": map[string]any{
			"productName":  p.Name,
			"description":  p.Description,
			"dosageForm":   p.DosageForm,
			"strength":     p.Strength,
			"packageSize":  p.PackageSize,
			"itemCodes":    identifiers(p.ItemCodes),
			"manufacturer": e.company.MasterData.BusinessName,
		},
	}
}

// companyRecord is a company's master data as the queries answer it, in
// the shape TraceLink's master-data objects have (data.businessMasterDataCommon).
func companyRecord(c *store.Company) map[string]any {
	m := c.MasterData
	name := m.BusinessName
	if name == "" {
		name = c.Name
	}
	locations := make([]map[string]any, 0, len(m.Locations))
	for i := range m.Locations {
		l := &m.Locations[i]
		locations = append(locations, map[string]any{"id": l.ID, "businessName": l.BusinessName, "locationType": l.LocationType, "identifiers": identifiers(l.Identifiers)})
	}
	return map[string]any{
		"id":         c.ID,
		"objectType": appMasterData + ":companyMasterData",
		"ownerId":    c.ID,
		"data": map[string]any{
			"businessMasterDataCommon": map[string]any{"businessName": name, "businessAddress": address(m.Address)},
			"identifiers":              identifiers(m.Identifiers),
			"locations":                locations,
		},
	}
}

// locationRecord is a location's master data as the queries answer it.
func locationRecord(c *store.Company, l *store.LocationMasterData, objectType string) map[string]any {
	return map[string]any{
		"id":         l.ID,
		"objectType": appMasterData + ":" + objectType,
		"ownerId":    c.ID,
		"data": map[string]any{
			"businessMasterDataCommon": map[string]any{"businessName": l.BusinessName, "businessAddress": address(l.Address)},
			"locationType":             l.LocationType,
			"identifiers":              identifiers(l.Identifiers),
			"companyId":                c.ID,
		},
	}
}

func identifiers(ids []store.Identifier) []map[string]any {
	out := make([]map[string]any, 0, len(ids))
	for _, id := range ids {
		out = append(out, map[string]any{"type": id.Type, "value": id.Value})
	}
	return out
}

func address(a *store.Address) any {
	if a == nil {
		return nil
	}
	return a
}
