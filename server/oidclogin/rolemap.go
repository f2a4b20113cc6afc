package oidclogin

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vcguard/vcguard/server/store"
)

// RoleMap maps values of the roles claim (a group name or ID, an app role)
// to a vcguard role. A value that is not in the map gives no role: the
// sign-in is refused rather than given a default role.
type RoleMap map[string]store.Role

// rank orders the roles for picking one when several claim values map:
// admin, then analyst, then auditor.
var rank = map[store.Role]int{store.RoleAdmin: 3, store.RoleAnalyst: 2, store.RoleAuditor: 1}

// ParseRoleMap reads "value=role,value=role" (as --oidc-role-map takes it).
// Values are case-sensitive (Entra ID group object IDs, Keycloak group
// paths such as /vcguard-admins); roles are admin, analyst or auditor.
func ParseRoleMap(s string) (RoleMap, error) {
	m := RoleMap{}
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		i := strings.LastIndexByte(item, '=')
		if i <= 0 {
			return nil, fmt.Errorf("--oidc-role-map: %q is not VALUE=ROLE", item)
		}
		value, role := strings.TrimSpace(item[:i]), store.Role(strings.TrimSpace(item[i+1:]))
		if _, ok := rank[role]; !ok {
			return nil, fmt.Errorf("--oidc-role-map: %q: role %q is not admin, analyst or auditor", item, role)
		}
		if old, dup := m[value]; dup && old != role {
			return nil, fmt.Errorf("--oidc-role-map: %q is mapped to both %s and %s", value, old, role)
		}
		m[value] = role
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("--oidc-role-map: empty; map at least one group or role claim value to admin, analyst or auditor")
	}
	return m, nil
}

// Role is the role the claim values map to: the highest of those mapped,
// or "" when none is.
func (m RoleMap) Role(values []string) store.Role {
	var best store.Role
	for _, v := range values {
		if r, ok := m[v]; ok && rank[r] > rank[best] {
			best = r
		}
	}
	return best
}

// claimValues reads a claim that holds a list of strings or one string
// (Okta and Keycloak may send a single group as a string).
func claimValues(claims map[string]any, name string) []string {
	switch v := claims[name].(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// DomainAllowed reports whether email's domain is one of domains (any
// domain when domains is empty).
func DomainAllowed(email string, domains []string) bool {
	if len(domains) == 0 {
		return true
	}
	i := strings.LastIndexByte(email, '@')
	if i < 1 {
		return false
	}
	return slices.Contains(domains, strings.ToLower(email[i+1:]))
}
