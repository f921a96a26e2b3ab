package graphql

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/scwm-gateway/scwm-gateway/handlers"
	"github.com/scwm-gateway/scwm-gateway/internal/schema"
)

// relations are the relation fields of every kind's type: each is a list
// of edges whose to is one object of ALL_RETURNS (see resolve.go for what
// each is resolved from).
var relations = []string{
	"aptBusinessObjectContainsComment",
	"aptBusinessObjectContainsAttachment",
	"aptBusinessObjectContainsSubTask",
	"aptBusinessObjectBelongsToProcessNetwork",
	"aptBusinessObjectCompanyAssignedUser",
	"aptBusinessObjectPartnerAssignedUser",
	"aptBusinessObjectCompanyOwnerUser",
	"aptBusinessObjectPartnerOwnerUser",
	"aptBusinessObjectAssignedToCompanyPartnerMasterData",
	"aptBusinessObjectPrimaryPartnerLocationMasterData",
}

// productRelation is the relation to the products an object names, whose
// edges also carry the impacted lots.
const productRelation = "issueRelatedToImpactedProductDetail"

// staticSDL is the part of the schema that does not come from the payload
// schemas: the operations, the results, and the objects the relations
// lead to (comments, attachments, users, networks, master data).
const staticSDL = `
"""Any JSON value: an object, an array, a string, a number, a boolean or null."""
scalar JSON

"""A 64-bit integer, such as a time in milliseconds since the epoch."""
scalar Long

type Query {
  """Calls an action of the catalogue (the event's action with its hyphens removed, first letter capitalised: Addincident, Getcompanybyidentifier); its newest version unless the payload names one with eventVersion."""
  genericActionCall(action: String!, payload: JSON!): ActionResult
  """Reads one object by its type (Incident, Change, Task, ...) and id; null, with an ObjectNotFoundException error, for one the caller may not see."""
  genericGetObject(type: String!, id: String!): ALL_RETURNS
}

type Mutation {
  """Calls an action of the catalogue, as Query.genericActionCall does."""
  genericActionCall(action: String!, payload: JSON!): ActionResult
}

"""The answer of an action."""
type ActionResult {
  """The JSON text of the response payload, as POST /api/events answers it."""
  result: String
  """The license plate of the request, to quote to support or to look up in the activity history."""
  licensePlate: String
  """Warnings of the response header (fields the schema does not know, values the gateway ignored)."""
  warnings: [String!]
}

"""An edge of a relation: the object it leads to."""
type Edge {
  to: ALL_RETURNS
}

"""An edge to a product an object names, with the lots it names."""
type ImpactedProductEdge {
  to: ALL_RETURNS
  impactedLots: JSON
}

type AptComment {
  id: String!
  data: AptCommentData
}

type AptCommentData {
  commentText: String
  visibilityType: String
  companyId: String
  createdByUserId: String
  creationDateTime: Long
  lastUpdatedByUserId: String
  lastUpdatedDateTime: Long
  licensePlate: String
}

type AptAttachment {
  id: String
  data: AptAttachmentData
}

type AptAttachmentData {
  fileName: String
  fileSize: Long
  visibilityType: String
  fileS3Location: String
  commentId: String
}

type User {
  id: String!
  data: UserData
}

type UserData {
  givenName: String
  surname: String
  email: String
  companyId: String
}

type ProcessNetwork {
  id: String!
}

type CompanyMasterData {
  id: String!
  ownerId: String
  data: BusinessMasterData
}

type CompanyLocationMasterData {
  id: String!
  ownerId: String
  data: BusinessMasterData
}

type PartnerMasterData {
  id: String!
  ownerId: String
  data: BusinessMasterData
}

type PartnerLocationMasterData {
  id: String!
  ownerId: String
  data: BusinessMasterData
}

type BusinessMasterData {
  businessMasterDataCommon: BusinessMasterDataCommon
  identifiers: [Identifier!]
  locationType: String
  companyId: String
}

type BusinessMasterDataCommon {
  businessName: String
  businessAddress: BusinessAddress
}

type BusinessAddress {
  address1: String
  address2: String
  houseNumber: String
  city: String
  district: String
  village: String
  township: String
  state: String
  postalCode: String
  country: String
}

type Identifier {
  type: String
  value: String
}

type ProductMasterData {
  id: String!
  ownerId: String
  data: ProductData
}

type ProductData {
  productItemInformation: ProductItemInformation
  packagingInformation: [PackagingInformation!]
  regulatoryItemCodes: [RegulatoryItemCodes!]
  packagingInformationAndRegulatoryItemCodesDerivedField: String
  description: String
  manufacturer: String
}

type ProductItemInformation {
  productName: String
  packSize: String
  strength: String
  dosageForm: String
  productLanguageCode: String
  isLightSensitive: Boolean
}

type PackagingInformation {
  packagingCode: [PackagingCode!]
}

type PackagingCode {
  packagingCodeType: String
  packagingCodeValue: String
}

type RegulatoryItemCodes {
  regulatoryItemCode: [RegulatoryItemCode!]
}

type RegulatoryItemCode {
  regulatoryItemCodeType: String
  regulatoryItemCodeValue: String
}
`

// staticObjects are the object types of staticSDL that ALL_RETURNS holds.
var staticObjects = []string{"AptComment", "AptAttachment", "User", "ProcessNetwork",
	"CompanyMasterData", "CompanyLocationMasterData", "PartnerMasterData", "PartnerLocationMasterData", "ProductMasterData"}

// typeName is the GraphQL type of a kind: its processType, first letter
// capitalised ("directSupplierIncident" is DirectSupplierIncident).
func typeName(kind string) string {
	if kind == "" {
		return ""
	}
	return strings.ToUpper(kind[:1]) + kind[1:]
}

// validName is a GraphQL name that is not reserved for introspection.
var validName = regexp.MustCompile(`^[_A-Za-z][_0-9A-Za-z]*$`)

// sdlBuilder writes the types of the kinds' data.
type sdlBuilder struct {
	b     strings.Builder
	taken map[string]bool
}

// buildSDL is the whole schema: staticSDL, a type per kind with its data
// type (from the kind's data shape) and relations, and ALL_RETURNS.
func buildSDL(specs []handlers.KindSpec) string {
	w := &sdlBuilder{taken: map[string]bool{}}
	for _, name := range staticObjects {
		w.taken[name] = true
	}
	w.b.WriteString(strings.TrimLeft(staticSDL, "\n"))
	members := []string{}
	for _, spec := range specs {
		t := typeName(spec.Name)
		w.taken[t] = true
		members = append(members, t)
	}
	for _, spec := range specs {
		t := typeName(spec.Name)
		dataType := w.objectType(t+"Data", spec.Data)
		fmt.Fprintf(&w.b, "\n\"\"\"An object of kind %s (objectType agile-process-teams:%s).\"\"\"\ntype %s {\n", spec.Name, spec.Name, t)
		for _, f := range [][2]string{
			{"id", "String!"}, {"objectType", "String"}, {"ownerId", "String"},
			{"currentBaseState", "String"}, {"currentSubState", "String"}, {"dataVersion", "Long"},
			{"createdByUserId", "String"}, {"lastUpdatedByUserId", "String"},
			{"creationDateTime", "Long"}, {"lastUpdatedDateTime", "Long"},
			{"data", dataType},
		} {
			fmt.Fprintf(&w.b, "  %s: %s\n", f[0], f[1])
		}
		for _, r := range relations {
			fmt.Fprintf(&w.b, "  %s: [Edge!]!\n", r)
		}
		fmt.Fprintf(&w.b, "  %s: [ImpactedProductEdge!]!\n}\n", productRelation)
	}
	members = append(members, staticObjects...)
	fmt.Fprintf(&w.b, "\n\"\"\"Every object genericGetObject reads and relations lead to.\"\"\"\nunion ALL_RETURNS = %s\n", strings.Join(members, " | "))
	return w.b.String()
}

// objectType writes the object type of an object shape under name (or a
// free name derived from it) and returns the name; an object of any
// properties is JSON.
func (w *sdlBuilder) objectType(name string, sh *schema.Shape) string {
	if sh == nil || sh.Kind != schema.ShapeObject || len(sh.Properties) == 0 {
		return "JSON"
	}
	props := make([]string, 0, len(sh.Properties))
	for p := range sh.Properties {
		if validName.MatchString(p) && !strings.HasPrefix(p, "__") {
			props = append(props, p)
		}
	}
	if len(props) == 0 {
		return "JSON"
	}
	sort.Strings(props)
	name = w.free(name)
	fields := make([]string, 0, len(props))
	for _, p := range props {
		fields = append(fields, fmt.Sprintf("  %s: %s\n", p, w.fieldType(name+typeName(p), sh.Properties[p])))
	}
	fmt.Fprintf(&w.b, "\ntype %s {\n%s}\n", name, strings.Join(fields, ""))
	return name
}

// fieldType is the GraphQL type of a field of shape sh.
func (w *sdlBuilder) fieldType(name string, sh *schema.Shape) string {
	switch sh.Kind {
	case schema.ShapeString:
		return "String"
	case schema.ShapeInteger:
		return "Long"
	case schema.ShapeNumber:
		return "Float"
	case schema.ShapeBoolean:
		return "Boolean"
	case schema.ShapeObject:
		return w.objectType(name, sh)
	case schema.ShapeArray:
		if sh.Items == nil || sh.Items.Kind == schema.ShapeAny {
			return "JSON"
		}
		return "[" + w.fieldType(name, sh.Items) + "]"
	}
	return "JSON"
}

// free is name, or name with a number when a type has it already.
func (w *sdlBuilder) free(name string) string {
	out := name
	for i := 2; w.taken[out]; i++ {
		out = fmt.Sprintf("%s%d", name, i)
	}
	w.taken[out] = true
	return out
}

// kindOfType finds the kind spec of a GraphQL type name, without regard to
// case (TraceLink's scripts name types as the schema does; people type
// "incident").
func kindOfType(specs []handlers.KindSpec, t string) (handlers.KindSpec, bool) {
	i := slices.IndexFunc(specs, func(s handlers.KindSpec) bool { return strings.EqualFold(typeName(s.Name), t) })
	if i < 0 {
		return handlers.KindSpec{}, false
	}
	return specs[i], true
}
