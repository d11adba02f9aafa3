#include "core/openssl.hpp"

#include <dlfcn.h>
#include <openssl/crypto.h>

#include "core/error.hpp"

#define BULWARK_STR2(x) #x
#define BULWARK_STR(x) BULWARK_STR2(x)

namespace bulwark {

namespace {

// The libcrypto whose headers this was compiled with.
constexpr const char* kSoname = "libcrypto.so." BULWARK_STR(OPENSSL_SHLIB_VERSION);

template <typename F>
void bind(void* lib, F& fn, const char* name) {
    fn = reinterpret_cast<F>(dlsym(lib, name));
    if (!fn) throw InputError(std::string(kSoname) + " has no " + name);
}

}  // namespace

Libcrypto::Libcrypto() : lib_(dlopen(kSoname, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE)) {
    if (!lib_)
        throw InputError(std::string("keys, signatures and the audit HMAC need OpenSSL 3 (") +
                         kSoname + ", package libssl3): " + dlerror());
    try {
        decltype(&::OPENSSL_init_crypto) init;
        bind(lib_, init, "OPENSSL_init_crypto");
        bind(lib_, pem_read_private_key, "PEM_read_PrivateKey");
        bind(lib_, pem_read_pubkey, "PEM_read_PUBKEY");
        bind(lib_, pkey_get_id, "EVP_PKEY_get_id");
        bind(lib_, pkey_free, "EVP_PKEY_free");
        bind(lib_, md_ctx_new, "EVP_MD_CTX_new");
        bind(lib_, md_ctx_free, "EVP_MD_CTX_free");
        bind(lib_, digest_sign_init, "EVP_DigestSignInit");
        bind(lib_, digest_sign, "EVP_DigestSign");
        bind(lib_, digest_verify_init, "EVP_DigestVerifyInit");
        bind(lib_, digest_verify, "EVP_DigestVerify");
        bind(lib_, q_mac, "EVP_Q_mac");
        // OpenSSL's built-in default provider, without reading the system's openssl.cnf
        // (parsing it was ~1 ms), nothing freed at exit. Idempotent.
        if (init(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_ATEXIT, nullptr) != 1)
            throw InputError(std::string(kSoname) + ": OPENSSL_init_crypto failed");
    } catch (...) {
        dlclose(lib_);
        throw;
    }
}

Libcrypto::~Libcrypto() {
    dlclose(lib_);
}

}  // namespace bulwark
