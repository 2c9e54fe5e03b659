// Grants through the AWS SDK for JavaScript v3: a grant is what lets an IAM user with no policy of
// its own use a key, within the grant's operations and constraints, until it is retired or revoked.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  ListGrantsCommand,
  ListRetirableGrantsCommand,
  RetireGrantCommand,
  RevokeGrantCommand,
} from "@aws-sdk/client-kms";
import { bytes, grantee, kms, rejects, text } from "./kinko.mjs";

const admin = kms();

test("a grant allows its operations to its grantee, and only while it exists", async () => {
  const user = grantee();
  const asUser = kms(user.credentials);
  const md = (await admin.send(new CreateKeyCommand({ Description: "js grants" }))).KeyMetadata;
  const context = { purpose: "js-grant" };

  await rejects(
    asUser.send(new EncryptCommand({ KeyId: md.Arn, Plaintext: bytes("x"), EncryptionContext: context })),
    "AccessDeniedException",
  );

  const created = await admin.send(
    new CreateGrantCommand({
      KeyId: md.KeyId,
      GranteePrincipal: user.arn,
      RetiringPrincipal: user.arn,
      Operations: ["Encrypt", "Decrypt"],
      Constraints: { EncryptionContextSubset: context },
      Name: "js-grant",
    }),
  );
  assert.match(created.GrantId, /^[0-9a-f]{64}$/);
  assert.ok(created.GrantToken.length > 0);

  const enc = await asUser.send(
    new EncryptCommand({
      KeyId: md.Arn,
      Plaintext: bytes("granted"),
      EncryptionContext: { ...context, extra: "ok" },
      GrantTokens: [created.GrantToken],
    }),
  );
  const dec = await asUser.send(
    new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { ...context, extra: "ok" } }),
  );
  assert.equal(text(dec.Plaintext), "granted");

  // Outside the constraint, and outside the operations, nothing is granted.
  await rejects(
    asUser.send(new EncryptCommand({ KeyId: md.Arn, Plaintext: bytes("x"), EncryptionContext: { purpose: "other" } })),
    "AccessDeniedException",
  );
  await rejects(asUser.send(new ListGrantsCommand({ KeyId: md.Arn })), "AccessDeniedException");

  const listed = await admin.send(new ListGrantsCommand({ KeyId: md.KeyId }));
  assert.equal(listed.Truncated, false);
  assert.equal(listed.Grants.length, 1);
  const [entry] = listed.Grants;
  assert.equal(entry.GrantId, created.GrantId);
  assert.equal(entry.KeyId, md.Arn);
  assert.equal(entry.Name, "js-grant");
  assert.equal(entry.GranteePrincipal, user.arn);
  assert.equal(entry.RetiringPrincipal, user.arn);
  assert.deepEqual(entry.Operations, ["Encrypt", "Decrypt"]);
  assert.deepEqual(entry.Constraints, { EncryptionContextSubset: context });
  assert.ok(entry.CreationDate instanceof Date);

  const byGrantee = await admin.send(new ListGrantsCommand({ KeyId: md.KeyId, GranteePrincipal: user.arn }));
  assert.deepEqual(byGrantee.Grants.map((g) => g.GrantId), [created.GrantId]);
  const retirable = await admin.send(new ListRetirableGrantsCommand({ RetiringPrincipal: user.arn }));
  assert.ok(retirable.Grants.some((g) => g.GrantId === created.GrantId));

  // The retiring principal retires it; then the grantee is refused again.
  await asUser.send(new RetireGrantCommand({ KeyId: md.Arn, GrantId: created.GrantId }));
  assert.deepEqual((await admin.send(new ListGrantsCommand({ KeyId: md.KeyId }))).Grants, []);
  await rejects(
    asUser.send(new EncryptCommand({ KeyId: md.Arn, Plaintext: bytes("x"), EncryptionContext: context })),
    "AccessDeniedException",
  );
});

test("RevokeGrant by the key's administrator ends a grant", async () => {
  const user = grantee();
  const asUser = kms(user.credentials);
  const md = (await admin.send(new CreateKeyCommand({ Description: "js revoke" }))).KeyMetadata;
  const { GrantId } = await admin.send(
    new CreateGrantCommand({ KeyId: md.Arn, GranteePrincipal: user.arn, Operations: ["GenerateDataKey"] }),
  );
  // Encrypt is not among the granted operations.
  await rejects(asUser.send(new EncryptCommand({ KeyId: md.Arn, Plaintext: bytes("x") })), "AccessDeniedException");
  await asUser.send(
    new GenerateDataKeyCommand({ KeyId: md.Arn, NumberOfBytes: 16 }),
  );
  await admin.send(new RevokeGrantCommand({ KeyId: md.KeyId, GrantId }));
  await rejects(
    asUser.send(new GenerateDataKeyCommand({ KeyId: md.Arn, NumberOfBytes: 16 })),
    "AccessDeniedException",
  );
});
