"""The authorization case table, through the real server with boto3 clients of real principals.

Every case creates its own principal (an IAM user with an access key, a role session, or the
account root), its own key, the key policy and identity policy of the case, then makes one
request as that principal and checks the decision (and, for denials, which side refused, from
AWS's AccessDeniedException message).

Sections:
- the delegation matrix: key policy x identity policy x operation x caller, with the expected
  decision computed by a small reference of AWS's rules written here (`expected_matrix`);
- the condition keys, after the examples of the AWS KMS developer guide's key-policy and
  condition-key chapters, each with requests that meet and miss the condition;
- grants, as the guide's grant chapter uses them;
- account-level actions (CreateKey, ListKeys, GenerateRandom), decided by identity policies.
"""

from __future__ import annotations

import base64
import dataclasses
import fnmatch
import json
from typing import Callable

import pytest

from authz_helpers import World, identity_statement, outcome, policy, statement, unique

ADMIN = [
    "kms:Describe*", "kms:Put*", "kms:Get*", "kms:List*", "kms:Create*", "kms:Enable*",
    "kms:Disable*", "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion", "kms:RevokeGrant",
]
CRYPTO = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:DescribeKey"]
OTHER_KEY = "arn:aws:kms:us-east-1:{account}:key/00000000-1111-2222-3333-444444444444"
CTX = {"AppName": "ExampleApp"}


@pytest.fixture(scope="module")
def world(kinko, kms, account_id):
    return World(kinko, kms, account_id)


# ----- what a case is and how it runs --------------------------------------------------------


@dataclasses.dataclass
class Case:
    name: str
    op: str
    expect: str  # "allow" | "deny"
    caller: str = "user"  # "user" | "root" | "role"
    # (world, caller arn, key arn) -> statements added to the key policy, or None: default policy.
    key_policy: Callable | None = None
    # (world, key arn) -> identity policy document of the caller, or None.
    identity: Callable | None = None
    # why a denial happened, a substring of AWS's message
    why: str | None = None
    params: dict = dataclasses.field(default_factory=dict)
    key_spec: str = "SYMMETRIC_DEFAULT"
    key_usage: str | None = None
    key_tags: dict | None = None
    user_tags: dict | None = None
    alias: bool = False
    grant: Callable | None = None  # (world, caller, key arn) -> CreateGrant kwargs
    encrypt_ctx: dict | None = None  # context the Decrypt input was made with
    name_alias: str = ""  # the alias created for the key, when `alias`


def run_op(case: Case, kms, key_id: str, key_arn: str, blob: bytes | None, world: World):
    p = dict(case.params)
    ctx = p.pop("EncryptionContext", None)
    kw = {"EncryptionContext": ctx} if ctx is not None else {}
    op = case.op
    target = p.pop("KeyId", key_id)
    if op == "Encrypt":
        return kms.encrypt(KeyId=target, Plaintext=b"authz table", **kw, **p)
    if op == "Decrypt":
        return kms.decrypt(CiphertextBlob=blob, **kw, **p)
    if op == "GenerateDataKey":
        return kms.generate_data_key(KeyId=target, KeySpec="AES_256", **kw, **p)
    if op == "GenerateDataKeyWithoutPlaintext":
        return kms.generate_data_key_without_plaintext(KeyId=target, KeySpec="AES_256", **kw, **p)
    if op == "ReEncrypt":
        dest = p.pop("DestinationKeyId", key_id)
        src = {"SourceEncryptionContext": ctx} if ctx is not None else {}
        return kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=dest, **src, **p)
    if op == "DescribeKey":
        return kms.describe_key(KeyId=target)
    if op == "DisableKey":
        return kms.disable_key(KeyId=target)
    if op == "TagResource":
        return kms.tag_resource(KeyId=target, **p)
    if op == "UntagResource":
        return kms.untag_resource(KeyId=target, **p)
    if op == "ScheduleKeyDeletion":
        return kms.schedule_key_deletion(KeyId=target, **p)
    if op == "EnableKeyRotation":
        return kms.enable_key_rotation(KeyId=target, **p)
    if op == "PutKeyPolicy":
        doc = json.dumps(policy(statement("Allow", {"AWS": world.root_arn()}, "kms:*")))
        return kms.put_key_policy(KeyId=target, Policy=doc, **p)
    if op == "GetKeyPolicy":
        return kms.get_key_policy(KeyId=target)
    if op == "CreateGrant":
        return kms.create_grant(KeyId=target, **p)
    if op == "Sign":
        return kms.sign(KeyId=target, **p)
    if op == "GenerateMac":
        return kms.generate_mac(KeyId=target, **p)
    if op == "GenerateDataKeyPair":
        return kms.generate_data_key_pair(KeyId=target, **p)
    if op == "CreateKey":
        return kms.create_key(**p)
    if op == "ListKeys":
        return kms.list_keys()
    if op == "ListAliases":
        return kms.list_aliases()
    if op == "GenerateRandom":
        return kms.generate_random(NumberOfBytes=16)
    if op == "CreateAlias":
        return kms.create_alias(AliasName="alias/" + unique("t"), TargetKeyId=target)
    raise AssertionError(f"no such op {op}")


def _fill(value, known: dict):
    """`value` with the placeholders of `known` replaced (strings equal to a placeholder)."""
    if isinstance(value, dict):
        return {k: _fill(v, known) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, known) for v in value]
    if isinstance(value, str):
        return known.get(value, value)
    return value


NEEDS_BLOB = {"Decrypt", "ReEncrypt"}
NO_KEY = {"CreateKey", "ListKeys", "ListAliases", "GenerateRandom"}


def run_case(world: World, case: Case):
    admin = world.admin_kms
    if case.caller == "root":
        who = None
        caller_arn = world.root_arn()
        kms = admin
    elif case.caller == "role":
        who = world.role_session()
        caller_arn = who.arn
        kms = who.kms
    else:
        who = world.user(tags=case.user_tags)
        caller_arn = who.arn
        kms = who.kms

    key_id = key_arn = ""
    blob = None
    if case.op not in NO_KEY:
        create = {"KeySpec": case.key_spec}
        if case.key_usage:
            create["KeyUsage"] = case.key_usage
        if case.key_tags:
            create["Tags"] = [{"TagKey": k, "TagValue": v} for k, v in case.key_tags.items()]
        md = admin.create_key(**create)["KeyMetadata"]
        key_id, key_arn = md["KeyId"], md["Arn"]
        if case.alias:
            admin.create_alias(AliasName="alias/" + case.name_alias, TargetKeyId=key_id)
        if case.op in NEEDS_BLOB:
            made_with = case.encrypt_ctx if case.encrypt_ctx is not None else case.params.get("EncryptionContext")
            kw = {"EncryptionContext": made_with} if made_with else {}
            blob = admin.encrypt(KeyId=key_id, Plaintext=b"authz table", **kw)["CiphertextBlob"]
    if case.identity is not None and who is not None:
        doc = json.dumps(case.identity(world, key_arn))
        if case.caller == "role":
            world.iam.put_role_policy(RoleName=who.name, PolicyName="p", PolicyDocument=doc)
        else:
            world.iam.put_user_policy(UserName=who.name, PolicyName="p", PolicyDocument=doc)
    if case.key_policy is not None and key_id:
        statements = case.key_policy(world, caller_arn, key_arn)
        admin.put_key_policy(
            KeyId=key_id, Policy=json.dumps(policy(*statements)), BypassPolicyLockoutSafetyCheck=True
        )
    if case.grant is not None:
        admin_grant = case.grant(world, who, key_arn)
        admin.create_grant(KeyId=key_id, **admin_grant)

    known = {
        "__grantee__": f"arn:aws:iam::{world.account}:user/grantee",
        "__self__": caller_arn,
        "__user__": who.name if who is not None else "root",
        "__key__": key_id,
    }
    case = dataclasses.replace(case, params=_fill(case.params, known))
    decision, message = outcome(run_op, case, kms, key_id, key_arn, blob, world)
    assert decision == case.expect, f"{case.name}: expected {case.expect}, got {decision} {message}"
    if decision == "deny":
        assert message.startswith(f"User: {caller_arn} is not authorized to perform: kms:"), message
        if case.why:
            assert case.why in message, message


# ----- 1. the delegation matrix ----------------------------------------------------------------

ROOT_ALL = lambda w: statement("Allow", {"AWS": w.root_arn()}, "kms:*", sid="Enable IAM User Permissions")  # noqa: E731
ROOT_ADMIN = lambda w: statement("Allow", {"AWS": w.root_arn()}, ADMIN, sid="Key administrators")  # noqa: E731

KEY_POLICIES = {
    # The default policy: the account delegates everything to IAM.
    "default": lambda w, who, key: [ROOT_ALL(w)],
    # The account delegates only administration; nobody is named for cryptography.
    "admin-only": lambda w, who, key: [ROOT_ADMIN(w)],
    # Administration delegated, cryptography granted to the caller by name.
    "names-caller": lambda w, who, key: [ROOT_ADMIN(w), statement("Allow", {"AWS": who}, CRYPTO)],
    # Cryptography for every principal of the account, by condition.
    "everyone-in-account": lambda w, who, key: [
        ROOT_ADMIN(w),
        statement("Allow", {"AWS": "*"}, CRYPTO, condition={"StringEquals": {"kms:CallerAccount": w.account}}),
    ],
    # Everything delegated, but Decrypt denied to the caller by name.
    "denies-caller-decrypt": lambda w, who, key: [ROOT_ALL(w), statement("Deny", {"AWS": who}, "kms:Decrypt")],
}
IDENTITIES = {
    "none": None,
    "crypto-on-this-key": lambda w, key: policy(identity_statement("Allow", CRYPTO, key)),
    "everything": lambda w, key: policy(identity_statement("Allow", "kms:*")),
    "everything-but-decrypt": lambda w, key: policy(
        identity_statement("Allow", "kms:*"), identity_statement("Deny", "kms:Decrypt")
    ),
    "crypto-on-another-key": lambda w, key: policy(identity_statement("Allow", CRYPTO, OTHER_KEY.format(account=w.account))),
}
OPS = {
    "Encrypt": ["kms:Encrypt"],
    "Decrypt": ["kms:Decrypt"],
    "GenerateDataKey": ["kms:GenerateDataKey"],
    "DescribeKey": ["kms:DescribeKey"],
    "ReEncrypt": ["kms:ReEncryptFrom", "kms:ReEncryptTo"],
}


def _matches(patterns, action) -> bool:
    return any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns)


def expected_matrix(kp: str, ident: str, op: str, caller: str) -> tuple[str, str | None]:
    """AWS's rules for one account, written out for these policies: an explicit deny anywhere
    wins; else a key-policy statement naming the caller allows; else a key-policy statement
    naming the account allows when the caller is the root or an identity policy allows."""
    root = caller == "root"
    for action in OPS[op]:
        # The "caller" the key policies name is the root itself when the root calls.
        kp_deny = kp == "denies-caller-decrypt" and action == "kms:Decrypt"
        id_deny = not root and ident == "everything-but-decrypt" and action == "kms:Decrypt"
        if kp_deny:
            return "deny", "explicit deny in a resource-based policy"
        if id_deny:
            return "deny", "explicit deny in an identity-based policy"
        # A statement naming a user or Principal "*" allows directly; one naming the root
        # ARN names the account (delegation), which the root itself passes.
        direct = (kp == "everyone-in-account" and _matches(CRYPTO, action)) or (
            not root and kp == "names-caller" and _matches(CRYPTO, action)
        )
        delegated = (
            kp in ("default", "denies-caller-decrypt")
            or _matches(ADMIN, action)
            or (root and kp == "names-caller" and _matches(CRYPTO, action))
        )
        identity_allows = caller == "root" or (
            ident in ("everything", "everything-but-decrypt")
            or (ident == "crypto-on-this-key" and _matches(CRYPTO, action))
        )
        if not (direct or (delegated and identity_allows)):
            why = "no identity-based policy allows" if delegated else "no resource-based policy allows"
            return "deny", why
    return "allow", None


def _matrix() -> list[Case]:
    cases = []
    for kp in KEY_POLICIES:
        for ident in IDENTITIES:
            for op in OPS:
                expect, why = expected_matrix(kp, ident, op, "user")
                cases.append(
                    Case(
                        name=f"matrix user kp={kp} id={ident} {op}",
                        op=op,
                        expect=expect,
                        why=why,
                        key_policy=KEY_POLICIES[kp],
                        identity=IDENTITIES[ident],
                    )
                )
        for op in OPS:
            expect, why = expected_matrix(kp, "none", op, "root")
            cases.append(Case(name=f"matrix root kp={kp} {op}", op=op, expect=expect, why=why, caller="root", key_policy=KEY_POLICIES[kp]))
    # Role sessions: a key policy naming the role covers its sessions.
    role_kp = lambda w, who, key: [ROOT_ADMIN(w), statement("Allow", {"AWS": who.rsplit("/", 1)[0].replace(":sts:", ":iam:").replace("assumed-role", "role")}, CRYPTO)]  # noqa: E731
    for op in ("Encrypt", "Decrypt", "GenerateDataKey"):
        cases.append(Case(name=f"role session named through its role {op}", op=op, expect="allow", caller="role", key_policy=role_kp))
        cases.append(Case(name=f"role session, default policy, no role policy {op}", op=op, expect="deny", caller="role", why="no identity-based policy allows"))
        cases.append(
            Case(
                name=f"role session, default policy, role policy allows {op}",
                op=op,
                expect="allow",
                caller="role",
                identity=IDENTITIES["crypto-on-this-key"],
            )
        )
        cases.append(
            Case(
                name=f"role session, admin-only policy, role policy allows {op}",
                op=op,
                expect="deny",
                caller="role",
                key_policy=KEY_POLICIES["admin-only"],
                identity=IDENTITIES["everything"],
                why="no resource-based policy allows",
            )
        )
    return cases


# ----- 2. condition keys (AWS KMS developer guide examples) ------------------------------------


def _key_cond(effect: str, actions, condition: dict, principal=None):
    """A key policy: everything delegated to the account, the caller allowed nothing directly,
    plus one conditional statement for every principal (or `principal`)."""

    def build(w, who, key):
        return [ROOT_ADMIN(w), statement(effect, principal or {"AWS": who}, actions, condition=condition)]

    return build


def _deny_cond(actions, condition: dict):
    """Default policy plus a Deny with a condition, for every principal."""

    def build(w, who, key):
        return [ROOT_ALL(w), statement("Deny", "*", actions, condition=condition)]

    return build


ALLOW_ALL_ID = IDENTITIES["everything"]


def _conditions() -> list[Case]:
    c: list[Case] = []

    def add(name, op, expect, **kw):
        c.append(Case(name=f"condition: {name}", op=op, expect=expect, **kw))

    # kms:EncryptionContext:AppName = ExampleApp (GenerateDataKey)
    kp = _key_cond("Allow", "kms:GenerateDataKey", {"StringEquals": {"kms:EncryptionContext:AppName": "ExampleApp"}})
    add("EncryptionContext AppName matches", "GenerateDataKey", "allow", key_policy=kp, params={"EncryptionContext": CTX})
    add("EncryptionContext AppName other value", "GenerateDataKey", "deny", key_policy=kp, params={"EncryptionContext": {"AppName": "Other"}})
    add("EncryptionContext AppName missing", "GenerateDataKey", "deny", key_policy=kp)
    add("EncryptionContext value is case sensitive", "GenerateDataKey", "deny", key_policy=kp, params={"EncryptionContext": {"AppName": "exampleapp"}})
    add("EncryptionContext extra pairs still match", "GenerateDataKey", "allow", key_policy=kp, params={"EncryptionContext": {"AppName": "ExampleApp", "x": "y"}})
    # kms:EncryptionContext + ForAllValues:StringEquals kms:EncryptionContextKeys: only AppName
    kp = _key_cond(
        "Allow",
        "kms:Encrypt",
        {
            "StringEquals": {"kms:EncryptionContext:AppName": "ExampleApp"},
            "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["AppName"]},
        },
    )
    add("only AppName allowed: exactly AppName", "Encrypt", "allow", key_policy=kp, params={"EncryptionContext": CTX})
    add("only AppName allowed: another key too", "Encrypt", "deny", key_policy=kp, params={"EncryptionContext": {"AppName": "ExampleApp", "Extra": "1"}})
    # Deny Stage=Restricted or Production (a Deny with a multi-valued condition)
    kp = _deny_cond("kms:Decrypt", {"StringEquals": {"kms:EncryptionContext:Stage": ["Restricted", "Production"]}})
    for stage, expect in (("Restricted", "deny"), ("Production", "deny"), ("Test", "allow")):
        add(f"deny Stage in (Restricted, Production): Stage={stage}", "Decrypt", expect, key_policy=kp, identity=ALLOW_ALL_ID, params={"EncryptionContext": {"Stage": stage}}, why="explicit deny in a resource-based policy" if expect == "deny" else None)
    add("deny Stage: no Stage at all", "Decrypt", "allow", key_policy=kp, identity=ALLOW_ALL_ID)
    # Department=IT OR Project=Alpha, as two statements
    def two_statements(w, who, key):
        return [
            ROOT_ADMIN(w),
            statement("Allow", {"AWS": who}, "kms:Encrypt", condition={"StringEquals": {"kms:EncryptionContext:Department": "IT"}}),
            statement("Allow", {"AWS": who}, "kms:Encrypt", condition={"StringEquals": {"kms:EncryptionContext:Project": "Alpha"}}),
        ]
    add("Department=IT or Project=Alpha: Department", "Encrypt", "allow", key_policy=two_statements, params={"EncryptionContext": {"Department": "IT"}})
    add("Department=IT or Project=Alpha: Project", "Encrypt", "allow", key_policy=two_statements, params={"EncryptionContext": {"Project": "Alpha"}})
    add("Department=IT or Project=Alpha: neither", "Encrypt", "deny", key_policy=two_statements, params={"EncryptionContext": {"Department": "HR"}})
    # ForAnyValue:StringEquals kms:EncryptionContextKeys AppName
    kp = _key_cond("Allow", "kms:Encrypt", {"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "AppName"}})
    add("EncryptionContextKeys has AppName", "Encrypt", "allow", key_policy=kp, params={"EncryptionContext": {"AppName": "x", "b": "c"}})
    add("EncryptionContextKeys lacks AppName", "Encrypt", "deny", key_policy=kp, params={"EncryptionContext": {"b": "c"}})
    add("EncryptionContextKeys empty", "Encrypt", "deny", key_policy=kp)
    # Null false: some encryption context required
    kp = _key_cond("Allow", "kms:Encrypt", {"Null": {"kms:EncryptionContextKeys": "false"}})
    add("Null false: any context", "Encrypt", "allow", key_policy=kp, params={"EncryptionContext": {"a": "b"}})
    add("Null false: no context", "Encrypt", "deny", key_policy=kp)
    # kms:EncryptionAlgorithm: symmetric only (IAM policy)
    ident = lambda w, key: policy(identity_statement("Allow", ["kms:Encrypt", "kms:Decrypt"], condition={"StringEquals": {"kms:EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}}))  # noqa: E731
    add("EncryptionAlgorithm SYMMETRIC_DEFAULT asked", "Encrypt", "allow", identity=ident, params={"EncryptionAlgorithm": "SYMMETRIC_DEFAULT"})
    add("EncryptionAlgorithm not in the request", "Encrypt", "deny", identity=ident, why="no identity-based policy allows")
    # kms:EncryptionAlgorithm: deny all but RSAES_OAEP_SHA_256 (RSA key)
    kp = _deny_cond("kms:Encrypt", {"StringNotEquals": {"kms:EncryptionAlgorithm": "RSAES_OAEP_SHA_256"}})
    add("RSA OAEP SHA-256 allowed", "Encrypt", "allow", key_policy=kp, identity=ALLOW_ALL_ID, key_spec="RSA_2048", key_usage="ENCRYPT_DECRYPT", params={"EncryptionAlgorithm": "RSAES_OAEP_SHA_256"})
    add("RSA OAEP SHA-1 denied", "Encrypt", "deny", key_policy=kp, identity=ALLOW_ALL_ID, key_spec="RSA_2048", key_usage="ENCRYPT_DECRYPT", params={"EncryptionAlgorithm": "RSAES_OAEP_SHA_1"}, why="explicit deny")
    # kms:RequestAlias: only through alias/finance-key-<n>
    for through, expect in ((True, "allow"), (False, "deny")):
        case = Case(
            name=f"condition: RequestAlias only through the alias (through alias: {through})",
            op="Encrypt",
            expect=expect,
            alias=True,
            key_policy=None,
        )
        case.name_alias = unique("finance-key")
        alias_name = "alias/" + case.name_alias
        case.key_policy = (lambda a: _key_cond("Allow", "kms:Encrypt", {"StringEquals": {"kms:RequestAlias": a}}))(alias_name)
        if through:
            case.params = {"KeyId": alias_name}
        c.append(case)
    # kms:ResourceAliases: keys with an alias like alias/test-* only (IAM policy)
    for has_alias, expect in ((True, "allow"), (False, "deny")):
        case = Case(
            name=f"condition: ResourceAliases ForAnyValue (key has a test alias: {has_alias})",
            op="Encrypt",
            expect=expect,
            alias=has_alias,
            identity=lambda w, key: policy(identity_statement("Allow", "kms:Encrypt", condition={"ForAnyValue:StringLike": {"kms:ResourceAliases": "alias/test-*"}})),
        )
        case.name_alias = unique("test")
        c.append(case)
    # kms:KeySpec and kms:KeyUsage as key properties
    kp = _key_cond("Allow", "kms:DescribeKey", {"StringEquals": {"kms:KeySpec": "SYMMETRIC_DEFAULT"}})
    add("KeySpec SYMMETRIC_DEFAULT key", "DescribeKey", "allow", key_policy=kp)
    add("KeySpec ECC key", "DescribeKey", "deny", key_policy=kp, key_spec="ECC_NIST_P256", key_usage="SIGN_VERIFY")
    kp = _key_cond("Allow", ["kms:Sign", "kms:DescribeKey"], {"StringEquals": {"kms:KeyUsage": "SIGN_VERIFY"}})
    add("KeyUsage SIGN_VERIFY: Sign", "Sign", "allow", key_policy=kp, key_spec="ECC_NIST_P256", key_usage="SIGN_VERIFY", params={"Message": b"m", "SigningAlgorithm": "ECDSA_SHA_256"})
    add("KeyUsage SIGN_VERIFY: symmetric key", "DescribeKey", "deny", key_policy=kp)
    kp = _key_cond("Allow", "kms:DescribeKey", {"StringEquals": {"kms:KeyOrigin": "AWS_KMS"}})
    add("KeyOrigin AWS_KMS key", "DescribeKey", "allow", key_policy=kp)
    # kms:MessageType and kms:SigningAlgorithm
    kp = _key_cond("Allow", "kms:Sign", {"StringEquals": {"kms:MessageType": "DIGEST", "kms:SigningAlgorithm": "ECDSA_SHA_256"}})
    ecc = dict(key_spec="ECC_NIST_P256", key_usage="SIGN_VERIFY")
    add("Sign DIGEST allowed", "Sign", "allow", key_policy=kp, params={"Message": b"\0" * 32, "MessageType": "DIGEST", "SigningAlgorithm": "ECDSA_SHA_256"}, **ecc)
    add("Sign RAW denied", "Sign", "deny", key_policy=kp, params={"Message": b"m", "MessageType": "RAW", "SigningAlgorithm": "ECDSA_SHA_256"}, **ecc)
    # kms:MacAlgorithm
    kp = _key_cond("Allow", "kms:GenerateMac", {"StringEquals": {"kms:MacAlgorithm": "HMAC_SHA_384"}})
    add("MacAlgorithm HMAC_SHA_384 key", "GenerateMac", "allow", key_policy=kp, key_spec="HMAC_384", key_usage="GENERATE_VERIFY_MAC", params={"Message": b"m", "MacAlgorithm": "HMAC_SHA_384"})
    kp = _key_cond("Allow", "kms:GenerateMac", {"StringEquals": {"kms:MacAlgorithm": "HMAC_SHA_512"}})
    add("MacAlgorithm HMAC_SHA_512 only", "GenerateMac", "deny", key_policy=kp, key_spec="HMAC_384", key_usage="GENERATE_VERIFY_MAC", params={"Message": b"m", "MacAlgorithm": "HMAC_SHA_384"})
    # kms:DataKeyPairSpec
    kp = _key_cond("Allow", "kms:GenerateDataKeyPair", {"StringLike": {"kms:DataKeyPairSpec": "RSA*"}})
    add("DataKeyPairSpec RSA", "GenerateDataKeyPair", "allow", key_policy=kp, params={"KeyPairSpec": "RSA_2048"})
    add("DataKeyPairSpec ECC", "GenerateDataKeyPair", "deny", key_policy=kp, params={"KeyPairSpec": "ECC_NIST_P256"})
    # kms:ReEncryptOnSameKey
    kp = _deny_cond("kms:ReEncrypt*", {"Bool": {"kms:ReEncryptOnSameKey": "true"}})
    add("ReEncrypt on the same key denied", "ReEncrypt", "deny", key_policy=kp, identity=ALLOW_ALL_ID, params={"SourceKeyId": "__key__"})
    # kms:BypassPolicyLockoutSafetyCheck
    kp = lambda w, who, key: [ROOT_ALL(w), statement("Deny", "*", "kms:PutKeyPolicy", condition={"Bool": {"kms:BypassPolicyLockoutSafetyCheck": "true"}})]  # noqa: E731
    add("PutKeyPolicy with the bypass denied", "PutKeyPolicy", "deny", key_policy=kp, identity=ALLOW_ALL_ID, params={"BypassPolicyLockoutSafetyCheck": True})
    add("PutKeyPolicy without the bypass", "PutKeyPolicy", "allow", key_policy=kp, identity=ALLOW_ALL_ID)
    # kms:ScheduleKeyDeletionPendingWindowInDays
    kp = _deny_cond("kms:ScheduleKeyDeletion", {"NumericLessThan": {"kms:ScheduleKeyDeletionPendingWindowInDays": "21"}})
    add("deletion window 7 days denied", "ScheduleKeyDeletion", "deny", key_policy=kp, identity=ALLOW_ALL_ID, params={"PendingWindowInDays": 7})
    add("deletion window 30 days", "ScheduleKeyDeletion", "allow", key_policy=kp, identity=ALLOW_ALL_ID, params={"PendingWindowInDays": 30})
    # kms:RotationPeriodInDays
    kp = _deny_cond("kms:EnableKeyRotation", {"NumericGreaterThan": {"kms:RotationPeriodInDays": "180"}})
    add("rotation period 365 denied", "EnableKeyRotation", "deny", key_policy=kp, identity=ALLOW_ALL_ID, params={"RotationPeriodInDays": 365})
    add("rotation period 90", "EnableKeyRotation", "allow", key_policy=kp, identity=ALLOW_ALL_ID, params={"RotationPeriodInDays": 90})
    # aws:ResourceTag
    ident = lambda w, key: policy(identity_statement("Allow", "kms:Encrypt", condition={"StringEquals": {"aws:ResourceTag/Project": "Alpha"}}))  # noqa: E731
    add("ResourceTag Project=Alpha key", "Encrypt", "allow", identity=ident, key_tags={"Project": "Alpha"})
    add("ResourceTag Project=Beta key", "Encrypt", "deny", identity=ident, key_tags={"Project": "Beta"})
    add("ResourceTag untagged key", "Encrypt", "deny", identity=ident)
    kp = _deny_cond("kms:*", {"StringEquals": {"aws:ResourceTag/Type": "Reserved"}})
    add("deny Type=Reserved keys", "DescribeKey", "deny", key_policy=kp, identity=ALLOW_ALL_ID, key_tags={"Type": "Reserved"})
    add("deny Type=Reserved: other type", "DescribeKey", "allow", key_policy=kp, identity=ALLOW_ALL_ID, key_tags={"Type": "Normal"})
    # aws:RequestTag and aws:TagKeys
    ident = lambda w, key: policy(identity_statement("Allow", "kms:TagResource", condition={"StringEquals": {"aws:RequestTag/Cost": ["A", "B"]}, "ForAllValues:StringEquals": {"aws:TagKeys": ["Cost"]}}))  # noqa: E731
    add("RequestTag Cost=A", "TagResource", "allow", identity=ident, params={"Tags": [{"TagKey": "Cost", "TagValue": "A"}]})
    add("RequestTag Cost=C", "TagResource", "deny", identity=ident, params={"Tags": [{"TagKey": "Cost", "TagValue": "C"}]})
    add("TagKeys has another key", "TagResource", "deny", identity=ident, params={"Tags": [{"TagKey": "Cost", "TagValue": "A"}, {"TagKey": "Owner", "TagValue": "x"}]})
    # aws:PrincipalTag: key users by tag
    kp = _key_cond("Allow", "kms:Encrypt", {"StringEquals": {"aws:PrincipalTag/Team": "Payments"}}, principal="*")
    add("PrincipalTag Team=Payments", "Encrypt", "allow", key_policy=kp, user_tags={"Team": "Payments"})
    add("PrincipalTag Team=Ops", "Encrypt", "deny", key_policy=kp, user_tags={"Team": "Ops"})
    add("PrincipalTag untagged user", "Encrypt", "deny", key_policy=kp)
    # aws:SourceIp (the suite connects from 127.0.0.1)
    kp = _deny_cond("kms:*", {"NotIpAddress": {"aws:SourceIp": ["127.0.0.0/8", "::1/128"]}})
    add("SourceIp inside the allowed range", "Encrypt", "allow", key_policy=kp, identity=ALLOW_ALL_ID)
    kp = _deny_cond("kms:*", {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}})
    add("SourceIp in a denied range", "Encrypt", "deny", key_policy=kp, identity=ALLOW_ALL_ID)
    # kms:CallerAccount and aws:PrincipalArn
    kp = _key_cond("Allow", "kms:Encrypt", {"StringEquals": {"kms:CallerAccount": "111122223333"}}, principal="*")
    add("CallerAccount of another account", "Encrypt", "deny", key_policy=kp)
    kp = lambda w, who, key: [ROOT_ADMIN(w), statement("Allow", "*", "kms:Encrypt", condition={"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{w.account}:user/u-*"}})]  # noqa: E731
    add("PrincipalArn like user/u-*", "Encrypt", "allow", key_policy=kp)
    add("PrincipalArn like user/u-*: a role session", "Encrypt", "deny", key_policy=kp, caller="role")
    # aws:CurrentTime
    kp = _key_cond("Allow", "kms:Encrypt", {"DateLessThan": {"aws:CurrentTime": "2000-01-01T00:00:00Z"}})
    add("CurrentTime before 2000", "Encrypt", "deny", key_policy=kp)
    kp = _key_cond("Allow", "kms:Encrypt", {"DateGreaterThan": {"aws:CurrentTime": "2000-01-01T00:00:00Z"}})
    add("CurrentTime after 2000", "Encrypt", "allow", key_policy=kp)
    # policy variables: the context must name the user
    ident = lambda w, key: policy(identity_statement("Allow", "kms:Encrypt", condition={"StringEquals": {"kms:EncryptionContext:user": "${aws:username}"}}))  # noqa: E731
    c.append(Case(name="condition: ${aws:username} in the context", op="Encrypt", expect="allow", identity=ident, params={"EncryptionContext": {"user": "__user__"}}))
    add("${aws:username}: someone else's name", "Encrypt", "deny", identity=ident, params={"EncryptionContext": {"user": "mallory"}})
    # kms:GrantOperations and kms:GranteePrincipal on CreateGrant
    kp = lambda w, who, key: [ROOT_ADMIN(w), statement("Allow", {"AWS": who}, "kms:CreateGrant", condition={"ForAllValues:StringEquals": {"kms:GrantOperations": ["Encrypt", "ReEncryptTo"]}})]  # noqa: E731
    grantee = lambda w: f"arn:aws:iam::{w.account}:user/grantee"  # noqa: E731
    c.append(Case(name="condition: GrantOperations subset allowed", op="CreateGrant", expect="allow", key_policy=kp, params={"GranteePrincipal": "__grantee__", "Operations": ["Encrypt"]}))
    c.append(Case(name="condition: GrantOperations with Decrypt denied", op="CreateGrant", expect="deny", key_policy=kp, params={"GranteePrincipal": "__grantee__", "Operations": ["Encrypt", "Decrypt"]}))
    kp = lambda w, who, key: [ROOT_ADMIN(w), statement("Allow", {"AWS": who}, "kms:CreateGrant", condition={"StringEquals": {"kms:GranteePrincipal": grantee(w)}})]  # noqa: E731
    c.append(Case(name="condition: GranteePrincipal matches", op="CreateGrant", expect="allow", key_policy=kp, params={"GranteePrincipal": "__grantee__", "Operations": ["Decrypt"]}))
    c.append(Case(name="condition: GranteePrincipal another", op="CreateGrant", expect="deny", key_policy=kp, params={"GranteePrincipal": "__self__", "Operations": ["Decrypt"]}))
    return c


# ----- 3. grants ------------------------------------------------------------------------------


def _grants() -> list[Case]:
    c: list[Case] = []
    admin_only = KEY_POLICIES["admin-only"]

    def grant(ops, constraints=None, to_role=False):
        def build(w, who, key):
            kw = {"GranteePrincipal": who.role_arn if to_role else who.arn, "Operations": ops}
            if constraints:
                kw["Constraints"] = constraints
            return kw

        return build

    def add(name, op, expect, **kw):
        c.append(Case(name=f"grant: {name}", op=op, expect=expect, key_policy=admin_only, **kw))

    add("Decrypt granted", "Decrypt", "allow", grant=grant(["Decrypt"]))
    add("Encrypt granted", "Encrypt", "allow", grant=grant(["Encrypt"]))
    add("GenerateDataKey granted", "GenerateDataKey", "allow", grant=grant(["GenerateDataKey"]))
    add("GenerateDataKeyWithoutPlaintext granted", "GenerateDataKeyWithoutPlaintext", "allow", grant=grant(["GenerateDataKeyWithoutPlaintext"]))
    add("Encrypt granted, Decrypt asked", "Decrypt", "deny", grant=grant(["Encrypt"]), why="no resource-based policy allows")
    add("DescribeKey granted", "DescribeKey", "allow", grant=grant(["DescribeKey"]))
    add("no grant at all", "Encrypt", "deny")
    add("ReEncrypt needs both halves", "ReEncrypt", "deny", grant=grant(["ReEncryptFrom"]))
    add("ReEncryptFrom and ReEncryptTo", "ReEncrypt", "allow", grant=grant(["ReEncryptFrom", "ReEncryptTo"]))
    sub = {"EncryptionContextSubset": {"Department": "IT"}}
    add("subset constraint met", "Encrypt", "allow", grant=grant(["Encrypt"], sub), params={"EncryptionContext": {"Department": "IT", "x": "y"}})
    add("subset constraint missed", "Encrypt", "deny", grant=grant(["Encrypt"], sub), params={"EncryptionContext": {"Department": "HR"}})
    add("subset constraint, no context", "Encrypt", "deny", grant=grant(["Encrypt"], sub))
    eq = {"EncryptionContextEquals": {"Department": "IT"}}
    add("equals constraint met", "Decrypt", "allow", grant=grant(["Decrypt"], eq), params={"EncryptionContext": {"Department": "IT"}})
    add("equals constraint with an extra pair", "Decrypt", "deny", grant=grant(["Decrypt"], eq), params={"EncryptionContext": {"Department": "IT", "x": "y"}})
    add("grant to the role covers its session", "Encrypt", "allow", caller="role", grant=grant(["Encrypt"], to_role=True))
    c.append(
        Case(
            name="grant: an explicit deny in the key policy beats a grant",
            op="Encrypt",
            expect="deny",
            key_policy=lambda w, who, key: [ROOT_ADMIN(w), statement("Deny", {"AWS": who}, "kms:Encrypt")],
            grant=grant(["Encrypt"]),
            why="explicit deny in a resource-based policy",
        )
    )
    c.append(
        Case(
            name="grant: an explicit deny in an identity policy beats a grant",
            op="Encrypt",
            expect="deny",
            key_policy=admin_only,
            identity=lambda w, key: policy(identity_statement("Deny", "kms:Encrypt")),
            grant=grant(["Encrypt"]),
            why="explicit deny in an identity-based policy",
        )
    )
    return c


# ----- 4. account-level actions ---------------------------------------------------------------


def _account_level() -> list[Case]:
    c: list[Case] = []
    for op in ("CreateKey", "ListKeys", "ListAliases", "GenerateRandom"):
        c.append(Case(name=f"account: {op} as root", op=op, expect="allow", caller="root"))
        c.append(Case(name=f"account: {op} without an identity policy", op=op, expect="deny", why="no identity-based policy allows"))
        c.append(Case(name=f"account: {op} with kms:{op}", op=op, expect="allow", identity=lambda w, key, op=op: policy(identity_statement("Allow", f"kms:{op}"))))
    c.append(
        Case(
            name="account: CreateKey only for RSA key specs (kms:KeySpec), RSA asked",
            op="CreateKey",
            expect="allow",
            identity=lambda w, key: policy(identity_statement("Allow", "kms:CreateKey", condition={"StringLike": {"kms:KeySpec": "RSA_*"}})),
            params={"KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY"},
        )
    )
    c.append(
        Case(
            name="account: CreateKey only for RSA key specs (kms:KeySpec), symmetric asked",
            op="CreateKey",
            expect="deny",
            identity=lambda w, key: policy(identity_statement("Allow", "kms:CreateKey", condition={"StringLike": {"kms:KeySpec": "RSA_*"}})),
        )
    )
    c.append(
        Case(
            name="account: CreateAlias needs the alias and the key",
            op="CreateAlias",
            expect="allow",
            identity=lambda w, key: policy(identity_statement("Allow", "kms:CreateAlias")),
        )
    )
    c.append(
        Case(
            name="account: CreateAlias on the key only",
            op="CreateAlias",
            expect="deny",
            identity=lambda w, key: policy(identity_statement("Allow", "kms:CreateAlias", key)),
        )
    )
    return c


CASES = _matrix() + _conditions() + _grants() + _account_level()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(world, case):
    run_case(world, case)


def test_the_table_is_large_enough():
    assert len(CASES) >= 200, len(CASES)
    assert len({c.name for c in CASES}) == len(CASES), "case names repeat"
