// Types of attest.js: signed evaluation attestations (in-toto Statement in a DSSE envelope).
import type {
  AttestationKeys,
  AttestationStatementOptions,
  DsseEnvelope,
  EvalReport,
  Registry,
  TufKey,
  VerifiedAttestation,
  VerifyAttestationOptions,
} from "./edge_registry.js";

/** DSSE payload type of an in-toto statement. */
export declare const PAYLOAD_TYPE: "application/vnd.in-toto+json";

/** A new ECDSA P-256 key pair (WebCrypto) whose private key is non-extractable. */
export declare function generateAttestationKey(): Promise<CryptoKeyPair>;

/** The public key as a TUF key object with its key id. */
export declare function attestationPublicKey(key: CryptoKey | CryptoKeyPair): Promise<{ keyid: string; key: TufKey }>;

/** Signs a report's in-toto statement with the key pair: a DSSE envelope. */
export declare function createAttestation(
  report: EvalReport,
  keyPair: CryptoKeyPair,
  options?: AttestationStatementOptions,
): Promise<DsseEnvelope>;

/** Trusted keys: CryptoKeys or key pairs besides the forms the module reads. */
export type AttestationVerifyKeys = AttestationKeys | CryptoKey | CryptoKeyPair | (AttestationKeys | CryptoKey | CryptoKeyPair)[];

/** Verifies an envelope; with `registry`, also that its models are versions the registry signs. */
export declare function verifyAttestation(
  envelope: DsseEnvelope | string | Uint8Array,
  keys: AttestationVerifyKeys,
  options?: VerifyAttestationOptions & { registry?: Registry },
): Promise<VerifiedAttestation>;
