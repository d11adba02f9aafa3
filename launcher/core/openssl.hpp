// libcrypto's EVP API (Ed25519 keys and signatures, the audit HMAC), loaded with dlopen where it
// is used (--trust-key, `sign`, --audit-key) rather than linked in. Linked statically, EVP brings
// OpenSSL's whole default provider (~340 KB of relocated pointer tables): ~0.4 ms of every start,
// a plain `run` included, which needs none of it. SHA-256 (core/digest) stays linked: it is small.
// systemd loads its optional libraries the same way (libcryptsetup, libidn2, ...).
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <memory>

namespace bulwark {

// One loaded libcrypto. Throws InputError naming the library if it cannot be loaded (OpenSSL 3's
// libcrypto.so.3, package libssl3). It stays mapped after the last Libcrypto goes
// (RTLD_NODELETE): a second one, e.g. after pivot_root, finds it loaded and initialised.
class Libcrypto {
  public:
    Libcrypto();
    ~Libcrypto();
    Libcrypto(const Libcrypto&) = delete;
    Libcrypto& operator=(const Libcrypto&) = delete;

    decltype(&::PEM_read_PrivateKey) pem_read_private_key;
    decltype(&::PEM_read_PUBKEY) pem_read_pubkey;
    decltype(&::EVP_PKEY_get_id) pkey_get_id;
    decltype(&::EVP_PKEY_free) pkey_free;
    decltype(&::EVP_MD_CTX_new) md_ctx_new;
    decltype(&::EVP_MD_CTX_free) md_ctx_free;
    decltype(&::EVP_DigestSignInit) digest_sign_init;
    decltype(&::EVP_DigestSign) digest_sign;
    decltype(&::EVP_DigestVerifyInit) digest_verify_init;
    decltype(&::EVP_DigestVerify) digest_verify;
    decltype(&::EVP_Q_mac) q_mac;

    using Pkey = std::unique_ptr<EVP_PKEY, decltype(&::EVP_PKEY_free)>;
    using MdCtx = std::unique_ptr<EVP_MD_CTX, decltype(&::EVP_MD_CTX_free)>;
    Pkey pkey(EVP_PKEY* k) const { return Pkey(k, pkey_free); }
    MdCtx md_ctx() const { return MdCtx(md_ctx_new(), md_ctx_free); }

  private:
    void* lib_;
};

}  // namespace bulwark
