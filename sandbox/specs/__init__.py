"""Published SAP SuccessFactors metadata the sandbox serves, plus the tenant extensions it adds."""
