package msi

import (
	"strings"
	"testing"
)

const propertyIDT = "Property\tValue\r\ns72\tl0\r\nProperty\tProperty\r\nALLUSERS\t1\r\n" +
	"SecureCustomProperties\tWIX_DOWNGRADE_DETECTED;WIX_UPGRADE_DETECTED\r\nUpgradeCode\t{X}\r\n"

func TestSecureProperties(t *testing.T) {
	got, err := secureProperties([]byte(propertyIDT), []string{"SERVER", "WIX_UPGRADE_DETECTED", "ENROLL_SECRET"})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(propertyIDT, "WIX_UPGRADE_DETECTED\r\n", "WIX_UPGRADE_DETECTED;SERVER;ENROLL_SECRET\r\n", 1)
	if string(got) != want {
		t.Errorf("got %q\nwant %q", got, want)
	}

	// No row yet: one is added.
	bare := "Property\tValue\r\ns72\tl0\r\nProperty\tProperty\r\nALLUSERS\t1\r\n"
	got, err = secureProperties([]byte(bare), []string{"SERVER"})
	if err != nil {
		t.Fatal(err)
	}
	if want := bare + "SecureCustomProperties\tSERVER\r\n"; string(got) != want {
		t.Errorf("got %q\nwant %q", got, want)
	}

	if _, err := secureProperties([]byte("Action\tType\r\n"), nil); err == nil {
		t.Error("another table accepted as the Property table")
	}
}

func TestHideTargets(t *testing.T) {
	idt := "Action\tType\tSource\tTarget\tExtendedType\r\ns72\ti2\tS72\tS255\tI4\r\nCustomAction\tAction\r\n" +
		"SetEnrollSecret\t3090\tAgentExe\tenroll-secret --set \"[ENROLL_SECRET]\"\t\r\n" +
		"SetScExe\t2099\tSC_EXE\t[System64Folder]sc.exe\t\r\n"
	got, err := hideTargets([]byte(idt), []string{"SetEnrollSecret"})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(idt, "SetEnrollSecret\t3090", "SetEnrollSecret\t11282", 1)
	if string(got) != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if _, err := hideTargets([]byte(idt), []string{"Missing"}); err == nil || !strings.Contains(err.Error(), "Missing") {
		t.Errorf("a missing action: %v", err)
	}
}

func TestConditionTable(t *testing.T) {
	got := string(conditionTable(policies))
	for _, want := range []string{
		"Feature_\tLevel\tCondition\r\ns38\ti2\tS255\r\nCondition\tFeature_\tLevel\r\n",
		"PolicyServer\t0\tNOT SERVER\r\n",
		"PolicyCAFile\t0\tNOT CA_FILE\r\n",
		"PolicyCAFingerprint\t0\tNOT CA_FINGERPRINT\r\n",
		"PolicyDeviceGroup\t0\tNOT DEVICE_GROUP\r\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Condition table lacks %q:\n%s", want, got)
		}
	}
}
