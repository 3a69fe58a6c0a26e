// Signed evaluation attestations in pages, workers, Node 20+, Deno and workerd: an evaluation
// report as an in-toto Statement in a DSSE envelope, signed with a WebCrypto ECDSA P-256 key
// that never leaves the device (non-extractable), and verified by anyone with the public key
// (here, `edge-registry attest verify`, or any DSSE verifier). The statement, the signing
// bytes (PAE), the key id and the verification come from the WebAssembly module, so JS and the
// CLI agree byte for byte; initialise the package first (`await init()` in a page; importing
// "edge-registry" does it in Node, Deno and workerd).
//
//   import { Registry } from "edge-registry";
//   import { generateAttestationKey, createAttestation, verifyAttestation } from "edge-registry/attest.js";
//   const keyPair = await generateAttestationKey();
//   const envelope = await createAttestation(await model.evaluate(csv), keyPair, { dataName: "test.csv" });
//   const verified = await verifyAttestation(envelope, keyPair.publicKey, { registry });

import {
  attestationStatement,
  attestationKey,
  assembleEnvelope,
  pae,
  verifyAttestation as verifyInWasm,
} from "./edge_registry.js";

/** DSSE payload type of an in-toto statement. */
export const PAYLOAD_TYPE = "application/vnd.in-toto+json";

const ECDSA_P256 = { name: "ECDSA", namedCurve: "P-256" };

function subtle() {
  const s = globalThis.crypto?.subtle;
  if (!s) throw new TypeError("attestations need WebCrypto (crypto.subtle): a secure context, a worker or Node 20+");
  return s;
}

function isCryptoKey(k) {
  return typeof CryptoKey !== "undefined" ? k instanceof CryptoKey : k?.constructor?.name === "CryptoKey";
}

/** A new ECDSA P-256 key pair for signing attestations. The private key is non-extractable:
 * it can sign but its bytes can never be read (keep the CryptoKeyPair itself, for example in
 * IndexedDB, which stores CryptoKeys as they are). */
export function generateAttestationKey() {
  return subtle().generateKey(ECDSA_P256, false, ["sign", "verify"]);
}

/** The public key (a CryptoKey or CryptoKeyPair) as a TUF key object with its key id (the
 * SHA-256 of the canonical key, as TUF metadata and `edge-registry attest verify` compute it). */
export async function attestationPublicKey(key) {
  const publicKey = isCryptoKey(key) ? key : key?.publicKey;
  if (!isCryptoKey(publicKey)) throw new TypeError("attestationPublicKey(key): a CryptoKey or CryptoKeyPair");
  return attestationKey(await subtle().exportKey("jwk", publicKey));
}

/** Signs an evaluation report (the JS API's report or the CLI's document) as a DSSE envelope
 * of its in-toto statement, with an ECDSA P-256 CryptoKeyPair (generateAttestationKey). The
 * signature is WebCrypto's IEEE P1363 `r || s`; `keyid` is the public key's TUF key id. */
export async function createAttestation(report, keyPair, options = {}) {
  if (!keyPair || !isCryptoKey(keyPair.privateKey) || !isCryptoKey(keyPair.publicKey)) {
    throw new TypeError("createAttestation(report, keyPair): keyPair must be a CryptoKeyPair (generateAttestationKey())");
  }
  const statement = attestationStatement(report, options);
  const payload = new TextEncoder().encode(JSON.stringify(statement));
  const { keyid } = await attestationPublicKey(keyPair.publicKey);
  const sig = await subtle().sign({ name: "ECDSA", hash: "SHA-256" }, keyPair.privateKey, pae(PAYLOAD_TYPE, payload));
  return assembleEnvelope(payload, [{ keyid, sig: new Uint8Array(sig) }]);
}

async function plainKeys(keys) {
  if (Array.isArray(keys)) return Promise.all(keys.map(plainKey));
  return plainKey(keys);
}

async function plainKey(key) {
  if (isCryptoKey(key)) return subtle().exportKey("jwk", key);
  if (key && isCryptoKey(key.publicKey)) return subtle().exportKey("jwk", key.publicKey);
  return key;
}

/** Verifies an attestation envelope (object, JSON text or bytes) against trusted keys
 * (CryptoKeys or key pairs, JWKs, TUF key objects, or a list of them): the envelope, the
 * statement and signatures of `threshold` distinct keys (default 1); with `registry` (a
 * refreshed Registry) also that the model subjects are versions the registry signs. Rejects
 * with an EdgeRegistryError: ATTESTATION_INVALID, ATTESTATION_SIGNATURE, ATTESTATION_SUBJECT,
 * LIMIT_EXCEEDED, INVALID_ARGUMENT. */
export async function verifyAttestation(envelope, keys, options = {}) {
  const { registry, ...rest } = options ?? {};
  const trusted = await plainKeys(keys);
  return registry ? registry.verifyAttestation(envelope, trusted, rest) : verifyInWasm(envelope, trusted, rest);
}
