-- Kinko schema v12: grants to AWS service principals (issue 21). `grantee_principal` and
-- `retiring_principal` keep the principal as given; the kind columns say whether it is an AWS
-- principal's ARN ('aws', every grant before this step) or a service principal ('service':
-- CreateGrant's GranteeServicePrincipal / RetiringServicePrincipal). `source_arn` is the grant's
-- SourceArn constraint, NULL when absent. `retiring_kind` means nothing while
-- `retiring_principal` is NULL.

ALTER TABLE grants ADD COLUMN grantee_kind TEXT NOT NULL DEFAULT 'aws';
ALTER TABLE grants ADD COLUMN retiring_kind TEXT NOT NULL DEFAULT 'aws';
ALTER TABLE grants ADD COLUMN source_arn TEXT;
