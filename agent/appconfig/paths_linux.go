package appconfig

func (p osPaths) current() []string { return p.Linux }
