package store

import (
	"testing"

	vcguardv1 "github.com/vcguard/vcguard/proto/vcguard/v1"
)

// FuzzConnectionItems feeds connectionItems what a hostile agent could send
// (any host names, domains, tenants and finding details): the rows it
// makes have a value within MaxConnectionValue, are unique by key, are
// sorted, and come out the same every time.
func FuzzConnectionItems(f *testing.F) {
	f.Add("meet.jit.si", "example.org", "72f988bf-86f1-41af-91ab-2d7cd011db47", "meet.jit.si", "personal account", uint8(2))
	f.Add("", "", "", "", "", uint8(0))
	f.Add("A.Example.Org.", "EXAMPLE.org", "", "a.example.org", "example.org", uint8(9))
	f.Fuzz(func(t *testing.T, server, domain, tenant, wrong, personal string, kind uint8) {
		c := &vcguardv1.AppConnection{
			AppId:   "app",
			Servers: []string{server, server, "x." + server},
			Accounts: []*vcguardv1.Account{
				{Kind: vcguardv1.AccountKind(kind % 5), Domain: domain, Tenant: tenant},
				{Kind: vcguardv1.AccountKind_ACCOUNT_KIND_PERSONAL},
			},
			Findings: []*vcguardv1.ConnectionFinding{
				{Kind: vcguardv1.ConnectionFindingKind_CONNECTION_FINDING_KIND_WRONG_SERVER, Detail: wrong, PolicyAction: vcguardv1.Action(kind % 5)},
				{Kind: vcguardv1.ConnectionFindingKind(kind % 4), Detail: personal, PolicyAction: vcguardv1.Action_ACTION_WARN},
			},
		}
		items, ok := connectionItems(c)
		again, ok2 := connectionItems(c)
		if ok != ok2 || len(items) != len(again) {
			t.Fatalf("two calls differ: %v %v / %v %v", items, ok, again, ok2)
		}
		seen := map[connItem]bool{}
		for i, it := range items {
			if it != again[i] {
				t.Fatalf("two calls differ at %d: %+v / %+v", i, it, again[i])
			}
			if len(it.value) > MaxConnectionValue || len(it.tenant) > MaxConnectionValue {
				t.Fatalf("row %+v: value over %d bytes", it, MaxConnectionValue)
			}
			if it.item != ConnectionItemServer && it.item != ConnectionItemAccount {
				t.Fatalf("row %+v: item kind", it)
			}
			k := connItem{item: it.item, value: it.value, tenant: it.tenant, accountKind: it.accountKind}
			if seen[k] {
				t.Fatalf("row %+v twice", it)
			}
			seen[k] = true
			if i > 0 {
				p := items[i-1]
				if p.item > it.item || (p.item == it.item && p.value > it.value) {
					t.Fatalf("rows not sorted: %+v before %+v", p, it)
				}
			}
		}
	})
}
