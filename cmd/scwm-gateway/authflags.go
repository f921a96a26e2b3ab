package main

import (
	"flag"
	"fmt"
	"strconv"

	"github.com/scwm-gateway/scwm-gateway/handlers"
)

// authFlags are serve's limits on authentication and credentials: the
// per-company rate limit, the token endpoint's limit, minting, and the
// password checks.
type authFlags struct {
	companyRate, companyBurst   *string
	tokenRate, tokenBurst       *string
	mintPerHour, mintBurst      *string
	maxKeys                     *string
	passwordChecks, checksQueue *string

	parsed handlers.Config
}

func (a *authFlags) register(fs *flag.FlagSet, getenv func(string) string) {
	a.companyRate = fs.String("company-rate-limit", envOr(getenv, "SCWM_COMPANY_RATE_LIMIT", "1000"), "requests per second per company, all its keys together; 0 disables (env SCWM_COMPANY_RATE_LIMIT)")
	a.companyBurst = fs.String("company-rate-burst", envOr(getenv, "SCWM_COMPANY_RATE_BURST", "2000"), "burst of requests per company above the rate (env SCWM_COMPANY_RATE_BURST)")
	a.tokenRate = fs.String("token-rate-limit", envOr(getenv, "SCWM_TOKEN_RATE_LIMIT", "10"), "token requests per second per OAuth client and per address; 0 disables (env SCWM_TOKEN_RATE_LIMIT)")
	a.tokenBurst = fs.String("token-rate-burst", envOr(getenv, "SCWM_TOKEN_RATE_BURST", "20"), "burst of token requests above the rate (env SCWM_TOKEN_RATE_BURST)")
	a.mintPerHour = fs.String("mint-limit", envOr(getenv, "SCWM_MINT_LIMIT", "60"), "API credentials a company may mint per hour (env SCWM_MINT_LIMIT)")
	a.mintBurst = fs.String("mint-burst", envOr(getenv, "SCWM_MINT_BURST", "10"), "burst of credentials minted above the rate (env SCWM_MINT_BURST)")
	a.maxKeys = fs.String("max-keys-per-company", envOr(getenv, "SCWM_MAX_KEYS_PER_COMPANY", "1000"), "most active API keys of one company that minting may reach (env SCWM_MAX_KEYS_PER_COMPANY)")
	a.passwordChecks = fs.String("password-checks", envOr(getenv, "SCWM_PASSWORD_CHECKS", "0"), "password checks (bcrypt) run at once; 0 means one per CPU (env SCWM_PASSWORD_CHECKS)")
	a.checksQueue = fs.String("password-check-queue", envOr(getenv, "SCWM_PASSWORD_CHECK_QUEUE", "0"), "sign-ins that wait for a password check, beyond which they get 503; 0 means 4 per check, -1 none (env SCWM_PASSWORD_CHECK_QUEUE)")
}

// parse checks the flags' values and returns what is wrong with them.
func (a *authFlags) parse() []string {
	var problems []string
	number := func(name, raw string, min float64, dst *float64) {
		v, err := strconv.ParseFloat(raw, 64)
		if err != nil || v < min {
			problems = append(problems, fmt.Sprintf("--%s %q must be a number, at least %v", name, raw, min))
		}
		*dst = v
	}
	whole := func(name, raw string, min int, dst *int) {
		v, err := strconv.Atoi(raw)
		if err != nil || v < min {
			problems = append(problems, fmt.Sprintf("--%s %q must be a whole number, at least %d", name, raw, min))
		}
		*dst = v
	}
	c := &a.parsed
	var mintPerHour float64
	number("company-rate-limit", *a.companyRate, 0, &c.CompanyRateLimit)
	whole("company-rate-burst", *a.companyBurst, 1, &c.CompanyRateBurst)
	number("token-rate-limit", *a.tokenRate, 0, &c.TokenRateLimit)
	whole("token-rate-burst", *a.tokenBurst, 1, &c.TokenRateBurst)
	number("mint-limit", *a.mintPerHour, 0.001, &mintPerHour)
	c.MintRate = mintPerHour / 3600
	whole("mint-burst", *a.mintBurst, 1, &c.MintBurst)
	whole("max-keys-per-company", *a.maxKeys, 1, &c.MaxKeysPerCompany)
	whole("password-checks", *a.passwordChecks, 0, &c.PasswordChecks)
	whole("password-check-queue", *a.checksQueue, -1, &c.PasswordCheckQueue)
	if c.TokenRateLimit == 0 {
		c.TokenRateLimit = -1 // 0 disables here; handlers.Config reads 0 as "as RateLimit"
	}
	return problems
}

// apply sets the parsed limits in cfg.
func (a *authFlags) apply(cfg handlers.Config) handlers.Config {
	p := a.parsed
	cfg.CompanyRateLimit, cfg.CompanyRateBurst = p.CompanyRateLimit, p.CompanyRateBurst
	cfg.TokenRateLimit, cfg.TokenRateBurst = p.TokenRateLimit, p.TokenRateBurst
	cfg.MintRate, cfg.MintBurst, cfg.MaxKeysPerCompany = p.MintRate, p.MintBurst, p.MaxKeysPerCompany
	cfg.PasswordChecks, cfg.PasswordCheckQueue = p.PasswordChecks, p.PasswordCheckQueue
	return cfg
}
