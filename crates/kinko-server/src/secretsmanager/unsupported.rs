//! Operations of the Secrets Manager model Kinko does not serve: replication.
//! Each answers with an error that names it as unsupported.

use super::op::Descriptor;

pub(super) const OPERATIONS: &[Descriptor] = &[
    Descriptor::unsupported("ReplicateSecretToRegions", true),
    Descriptor::unsupported("RemoveRegionsFromReplication", true),
    Descriptor::unsupported("StopReplicationToReplica", true),
];
