// libcrypto set-up for the paths that use EVP (Ed25519 keys, the audit HMAC), kept apart from
// SHA-256 (core/digest), which does not need it: a plain `run` never calls this.
#pragma once

#include <openssl/crypto.h>

namespace bulwark {

// Before any EVP call: OpenSSL's built-in default provider, without reading the system's
// openssl.cnf (parsing it was ~1 ms), nothing freed at exit. Idempotent.
inline void init_openssl() {
    OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_ATEXIT, nullptr);
}

}  // namespace bulwark
