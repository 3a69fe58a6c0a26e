//! Error plumbing shared by every layer.
//!
//! Each layer has its own `#[non_exhaustive]` error enum (for example [`crate::digest::DigestError`]).
//! Every one of them implements [`ErrorCode`], which gives the stable, machine-readable code that
//! the JavaScript bindings put on the `code` property of the `Error` they throw and that the CLI
//! prints. Codes are part of the public API: they never change meaning once released.
//!
//! Owns the [`ErrorCode`] trait; imports nothing from the crate.

/// The codes, one place: each variant and the string JS and the CLI show.
macro_rules! codes {
    ($($variant:ident => $text:literal,)*) => {
        /// Every error code of the library. Its string ([`Code::as_str`]) is what JavaScript
        /// sees on `error.code` and what the CLI prints.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Code {
            $(
                #[doc = concat!("`", $text, "`")]
                $variant,
            )*
        }

        impl Code {
            /// Every code, in declaration order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The code whose string is `text`, if there is one.
            pub fn parse(text: &str) -> Option<Code> {
                match text {
                    $($text => Some(Code::$variant),)*
                    _ => None,
                }
            }

            /// The stable string, e.g. `HASH_MISMATCH`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $text,)*
                }
            }
        }
    };
}

codes! {
    Aborted => "ABORTED",
    AliasesUnavailable => "ALIASES_UNAVAILABLE",
    AttestationInvalid => "ATTESTATION_INVALID",
    AttestationSignature => "ATTESTATION_SIGNATURE",
    AttestationSubject => "ATTESTATION_SUBJECT",
    BadAliases => "BAD_ALIASES",
    BadCard => "BAD_CARD",
    BadCatalogue => "BAD_CATALOGUE",
    BadData => "BAD_DATA",
    BadMetadata => "BAD_METADATA",
    BadModel => "BAD_MODEL",
    BadName => "BAD_NAME",
    BadProfile => "BAD_PROFILE",
    BadRef => "BAD_REF",
    BadRepository => "BAD_REPOSITORY",
    BadRow => "BAD_ROW",
    BadSummary => "BAD_SUMMARY",
    BadTargetPath => "BAD_TARGET_PATH",
    BadUrl => "BAD_URL",
    BadVersion => "BAD_VERSION",
    DelegationLimit => "DELEGATION_LIMIT",
    Expired => "EXPIRED",
    GateFailed => "GATE_FAILED",
    HashMismatch => "HASH_MISMATCH",
    HttpStatus => "HTTP_STATUS",
    InferenceFailed => "INFERENCE_FAILED",
    Internal => "INTERNAL",
    InternalPanic => "INTERNAL_PANIC",
    InvalidArgument => "INVALID_ARGUMENT",
    InvalidDigest => "INVALID_DIGEST",
    InvalidState => "INVALID_STATE",
    LengthExceeded => "LENGTH_EXCEEDED",
    LimitExceeded => "LIMIT_EXCEEDED",
    MissingKey => "MISSING_KEY",
    MissingMeta => "MISSING_META",
    ModelNotFound => "MODEL_NOT_FOUND",
    ModelSignature => "MODEL_SIGNATURE",
    ModelSignatureIdentity => "MODEL_SIGNATURE_IDENTITY",
    ModelSignatureInvalid => "MODEL_SIGNATURE_INVALID",
    ModelSignatureMismatch => "MODEL_SIGNATURE_MISMATCH",
    ModelSignatureRequired => "MODEL_SIGNATURE_REQUIRED",
    NameConflict => "NAME_CONFLICT",
    Network => "NETWORK",
    NotDelegated => "NOT_DELEGATED",
    NotFound => "NOT_FOUND",
    NoRows => "NO_ROWS",
    PredictorFailed => "PREDICTOR_FAILED",
    Pinned => "PINNED",
    Quota => "QUOTA",
    RoleExists => "ROLE_EXISTS",
    Rollback => "ROLLBACK",
    SchemaMismatch => "SCHEMA_MISMATCH",
    SignatureThreshold => "SIGNATURE_THRESHOLD",
    SinkStopped => "SINK_STOPPED",
    SpecVersion => "SPEC_VERSION",
    Store => "STORE",
    SummaryMismatch => "SUMMARY_MISMATCH",
    TargetNotFound => "TARGET_NOT_FOUND",
    Truncated => "TRUNCATED",
    UnknownRole => "UNKNOWN_ROLE",
    UnsupportedHash => "UNSUPPORTED_HASH",
    UnsupportedModel => "UNSUPPORTED_MODEL",
    VersionExists => "VERSION_EXISTS",
    WrongType => "WRONG_TYPE",
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A typed error with a stable code.
pub trait ErrorCode: std::error::Error {
    /// The code of this error.
    fn error_code(&self) -> Code;

    /// The code's stable string (`HASH_MISMATCH`): `error.code` in JavaScript, what the CLI
    /// prints.
    fn code(&self) -> &'static str {
        self.error_code().as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_strings_are_unique_upper_snake_case() {
        let mut seen = std::collections::BTreeSet::new();
        for c in Code::ALL {
            let s = c.as_str();
            assert!(
                s.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'),
                "{s}"
            );
            assert!(seen.insert(s), "{s} twice");
            assert_eq!(c.to_string(), s);
            assert_eq!(Code::parse(s), Some(*c));
        }
    }
}
