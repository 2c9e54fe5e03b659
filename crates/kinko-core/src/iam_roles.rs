//! The IAM role operations: CreateRole, GetRole, ListRoles, DeleteRole, TagRole. Each checks
//! its own `iam:` action against the role first (what roles share with users is in
//! `iam_entity`).

use std::collections::BTreeMap;

use kinko_policy::PolicyKind;

use crate::actions::Action;
use crate::iam_entity::Member;
use crate::identity::{check_path, check_role_name, merge_tags, parse_policy, unique_id};
use crate::{
    AuditDraft, Caller, DEFAULT_SESSION_SECONDS, Error, IamRole, Kms, MAX_ROLE_SESSION_SECONDS, Tag,
};

/// A CreateRole request: its members past the name, read once the caller is authorized.
#[derive(Debug)]
pub struct NewRole<'a> {
    /// `Path` (`/` when none).
    pub path: Option<&'a str>,
    /// `AssumeRolePolicyDocument`: the trust policy.
    pub trust_policy: Member<&'a str>,
    /// `Tags`.
    pub tags: Member<Vec<Tag>>,
    /// `Description`.
    pub description: Option<&'a str>,
    /// `MaxSessionDuration`.
    pub max_session_duration: Member<Option<u32>>,
}

impl Kms {
    /// CreateRole: `iam:CreateRole` on the new role's ARN.
    pub async fn create_role(
        &self,
        caller: &Caller,
        name: &str,
        request: NewRole<'_>,
        audit: &AuditDraft,
    ) -> Result<IamRole, Error> {
        let path = request.path;
        self.authorize_new::<IamRole>(caller, Action::IamCreateRole, path, name)
            .await?;
        let trust_policy = request.trust_policy?;
        let tags = request.tags?;
        let max_session_duration = request.max_session_duration?;
        check_role_name(name)?;
        let path = path.unwrap_or("/");
        check_path(path)?;
        parse_policy(trust_policy, PolicyKind::Trust)?;
        let description = request.description.unwrap_or("");
        if description.chars().count() > 1000 {
            return Err(Error::Validation(
                "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 1000".into(),
            ));
        }
        let max_session_duration = max_session_duration.unwrap_or(DEFAULT_SESSION_SECONDS);
        if !(DEFAULT_SESSION_SECONDS..=MAX_ROLE_SESSION_SECONDS).contains(&max_session_duration) {
            return Err(Error::Validation(format!(
                "1 validation error detected: Value '{max_session_duration}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value between {DEFAULT_SESSION_SECONDS} and {MAX_ROLE_SESSION_SECONDS}"
            )));
        }
        let tags = merge_tags(&BTreeMap::new(), tags)?;
        let role = IamRole {
            account: caller.account.clone(),
            name: name.to_owned(),
            path: path.to_owned(),
            id: unique_id("AROA")?,
            arn: format!("arn:aws:iam::{}:role{path}{name}", caller.account),
            trust_policy: trust_policy.to_owned(),
            description: description.to_owned(),
            max_session_duration,
            created_at: self.clock().now(),
            tags,
        };
        self.insert_entity(role, audit).await
    }

    /// GetRole.
    pub async fn get_role(&self, caller: &Caller, name: &str) -> Result<IamRole, Error> {
        self.authorize_on::<IamRole>(caller, Action::IamGetRole, name)
            .await?;
        self.find(&caller.account, name).await
    }

    /// ListRoles (filtered by path prefix), ordered by name: `iam:ListRoles` on `…:role/*`.
    pub async fn list_roles(
        &self,
        caller: &Caller,
        path_prefix: Option<&str>,
    ) -> Result<Vec<IamRole>, Error> {
        self.list_entities(caller, Action::IamListRoles, path_prefix)
            .await
    }

    /// DeleteRole: refused with DeleteConflict while the role has inline policies.
    pub async fn delete_role(
        &self,
        caller: &Caller,
        name: &str,
        audit: &AuditDraft,
    ) -> Result<(), Error> {
        self.authorize_on::<IamRole>(caller, Action::IamDeleteRole, name)
            .await?;
        let role: IamRole = self.find(&caller.account, name).await?;
        self.delete_entity(
            caller,
            &role,
            name,
            "Cannot delete entity, must delete policies first.",
            audit,
        )
        .await
    }

    /// TagRole.
    pub async fn tag_role(
        &self,
        caller: &Caller,
        name: &str,
        tags: Member<Vec<Tag>>,
        audit: &AuditDraft,
    ) -> Result<(), Error> {
        self.authorize_on::<IamRole>(caller, Action::IamTagRole, name)
            .await?;
        self.tag_entity::<IamRole>(caller, name, tags?, audit).await
    }
}
