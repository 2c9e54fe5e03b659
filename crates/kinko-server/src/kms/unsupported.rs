//! The operations of the KMS model (botocore 1.44.8) that Kinko does not serve: custom key
//! stores. They answer `UnsupportedOperationException` by name
//! instead of `UnknownOperationException`, and their records say whether they would change state.

use super::op::Descriptor;

/// The operations of this family.
pub(super) const OPERATIONS: &[Descriptor] = &[
    Descriptor::unsupported("ConnectCustomKeyStore", false),
    Descriptor::unsupported("CreateCustomKeyStore", false),
    Descriptor::unsupported("DeleteCustomKeyStore", false),
    Descriptor::unsupported("DescribeCustomKeyStores", false),
    Descriptor::unsupported("DisconnectCustomKeyStore", false),
    Descriptor::unsupported("UpdateCustomKeyStore", false),
];
