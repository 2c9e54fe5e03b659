//! The actions Kinko authorizes, typed: one table from each action to the name the policy
//! language gives it (`kms:Encrypt`, `iam:CreateUser`, …). Authorization takes an [`Action`],
//! so an operation cannot name an action that is not here, and no action name is spelled
//! anywhere else.

macro_rules! actions {
    ($($variant:ident = $name:literal),+ $(,)?) => {
        /// An action a policy can allow or deny, as Kinko authorizes it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Action {
            $(
                #[doc = concat!("`", $name, "`.")]
                $variant,
            )+
        }

        impl Action {
            /// Every action, in the table's order.
            pub const ALL: &'static [Action] = &[$(Action::$variant),+];

            /// The policy-language name: `kms:Encrypt`, `iam:CreateUser`, ….
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Action::$variant => $name,)+
                }
            }
        }
    };
}

actions! {
    KmsCancelKeyDeletion = "kms:CancelKeyDeletion",
    KmsCreateAlias = "kms:CreateAlias",
    KmsCreateGrant = "kms:CreateGrant",
    KmsCreateKey = "kms:CreateKey",
    KmsDecapsulate = "kms:Decapsulate",
    KmsDecrypt = "kms:Decrypt",
    KmsDeleteAlias = "kms:DeleteAlias",
    KmsDeleteImportedKeyMaterial = "kms:DeleteImportedKeyMaterial",
    KmsDeriveSharedSecret = "kms:DeriveSharedSecret",
    KmsDescribeKey = "kms:DescribeKey",
    KmsDisableKey = "kms:DisableKey",
    KmsDisableKeyRotation = "kms:DisableKeyRotation",
    KmsEnableKey = "kms:EnableKey",
    KmsEnableKeyRotation = "kms:EnableKeyRotation",
    KmsEncapsulate = "kms:Encapsulate",
    KmsEncrypt = "kms:Encrypt",
    KmsGenerateDataKey = "kms:GenerateDataKey",
    KmsGenerateDataKeyPair = "kms:GenerateDataKeyPair",
    KmsGenerateDataKeyPairWithoutPlaintext = "kms:GenerateDataKeyPairWithoutPlaintext",
    KmsGenerateDataKeyWithoutPlaintext = "kms:GenerateDataKeyWithoutPlaintext",
    KmsGenerateMac = "kms:GenerateMac",
    KmsGenerateRandom = "kms:GenerateRandom",
    KmsGetKeyLastUsage = "kms:GetKeyLastUsage",
    KmsGetKeyPolicy = "kms:GetKeyPolicy",
    KmsGetKeyRotationStatus = "kms:GetKeyRotationStatus",
    KmsGetParametersForImport = "kms:GetParametersForImport",
    KmsGetPublicKey = "kms:GetPublicKey",
    KmsImportKeyMaterial = "kms:ImportKeyMaterial",
    KmsListAliases = "kms:ListAliases",
    KmsListGrants = "kms:ListGrants",
    KmsListKeyPolicies = "kms:ListKeyPolicies",
    KmsListKeyRotations = "kms:ListKeyRotations",
    KmsListKeys = "kms:ListKeys",
    KmsListResourceTags = "kms:ListResourceTags",
    KmsListRetirableGrants = "kms:ListRetirableGrants",
    KmsPutKeyPolicy = "kms:PutKeyPolicy",
    KmsReEncryptFrom = "kms:ReEncryptFrom",
    KmsReEncryptTo = "kms:ReEncryptTo",
    KmsRetireGrant = "kms:RetireGrant",
    KmsRevokeGrant = "kms:RevokeGrant",
    KmsReplicateKey = "kms:ReplicateKey",
    KmsRotateKeyOnDemand = "kms:RotateKeyOnDemand",
    KmsScheduleKeyDeletion = "kms:ScheduleKeyDeletion",
    KmsSign = "kms:Sign",
    KmsTagResource = "kms:TagResource",
    KmsUntagResource = "kms:UntagResource",
    KmsUpdateAlias = "kms:UpdateAlias",
    KmsUpdateKeyDescription = "kms:UpdateKeyDescription",
    KmsUpdatePrimaryRegion = "kms:UpdatePrimaryRegion",
    KmsVerify = "kms:Verify",
    KmsVerifyMac = "kms:VerifyMac",
    IamCreateAccessKey = "iam:CreateAccessKey",
    IamCreateRole = "iam:CreateRole",
    IamCreateUser = "iam:CreateUser",
    IamDeleteAccessKey = "iam:DeleteAccessKey",
    IamDeleteRole = "iam:DeleteRole",
    IamDeleteRolePolicy = "iam:DeleteRolePolicy",
    IamDeleteUser = "iam:DeleteUser",
    IamDeleteUserPolicy = "iam:DeleteUserPolicy",
    IamGetRole = "iam:GetRole",
    IamGetRolePolicy = "iam:GetRolePolicy",
    IamGetUser = "iam:GetUser",
    IamGetUserPolicy = "iam:GetUserPolicy",
    IamListAccessKeys = "iam:ListAccessKeys",
    IamListRolePolicies = "iam:ListRolePolicies",
    IamListRoles = "iam:ListRoles",
    IamListUserPolicies = "iam:ListUserPolicies",
    IamListUsers = "iam:ListUsers",
    IamPutRolePolicy = "iam:PutRolePolicy",
    IamPutUserPolicy = "iam:PutUserPolicy",
    IamTagRole = "iam:TagRole",
    IamTagUser = "iam:TagUser",
    IamUpdateAccessKey = "iam:UpdateAccessKey",
    StsAssumeRole = "sts:AssumeRole",
    CloudTrailLookupEvents = "cloudtrail:LookupEvents",
    SmBatchGetSecretValue = "secretsmanager:BatchGetSecretValue",
    SmCreateSecret = "secretsmanager:CreateSecret",
    SmDeleteSecret = "secretsmanager:DeleteSecret",
    SmDescribeSecret = "secretsmanager:DescribeSecret",
    SmGetRandomPassword = "secretsmanager:GetRandomPassword",
    SmDeleteResourcePolicy = "secretsmanager:DeleteResourcePolicy",
    SmGetResourcePolicy = "secretsmanager:GetResourcePolicy",
    SmGetSecretValue = "secretsmanager:GetSecretValue",
    SmListSecretVersionIds = "secretsmanager:ListSecretVersionIds",
    SmListSecrets = "secretsmanager:ListSecrets",
    SmPutResourcePolicy = "secretsmanager:PutResourcePolicy",
    SmPutSecretValue = "secretsmanager:PutSecretValue",
    SmRestoreSecret = "secretsmanager:RestoreSecret",
    SmRotateSecret = "secretsmanager:RotateSecret",
    SmCancelRotateSecret = "secretsmanager:CancelRotateSecret",
    SmTagResource = "secretsmanager:TagResource",
    SmUntagResource = "secretsmanager:UntagResource",
    SmUpdateSecret = "secretsmanager:UpdateSecret",
    SmUpdateSecretVersionStage = "secretsmanager:UpdateSecretVersionStage",
    SmValidateResourcePolicy = "secretsmanager:ValidateResourcePolicy",
}

impl Action {
    /// The action named `name` in the policy language, if Kinko authorizes it.
    pub fn parse(name: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.as_str() == name)
    }

    /// The operation an action is checked for, as AWS's messages name it: the name without its
    /// service prefix, and `ReEncrypt` for both halves of a re-encryption.
    pub fn operation(self) -> &'static str {
        match self {
            Action::KmsReEncryptFrom | Action::KmsReEncryptTo => "ReEncrypt",
            _ => {
                let name = self.as_str();
                name.split_once(':').map_or(name, |(_, op)| op)
            }
        }
    }
}

/// The KMS operation a policy-language action names (`kms:Encrypt` → `Encrypt`), as grants
/// list their operations; `None` for another service's action.
pub(crate) fn kms_operation(action: &str) -> Option<&str> {
    action.strip_prefix("kms:")
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_parse_back() {
        for (i, a) in Action::ALL.iter().enumerate() {
            assert_eq!(Action::parse(a.as_str()), Some(*a));
            assert!(Action::ALL[..i].iter().all(|b| b.as_str() != a.as_str()));
        }
        assert_eq!(Action::KmsEncrypt.as_str(), "kms:Encrypt");
        assert_eq!(Action::parse("kms:encrypt"), None);
    }
}
