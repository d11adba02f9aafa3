#include "core/signing.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/openssl.hpp"
#include "core/sys.hpp"
#include "core/trust.hpp"

namespace bulwark::signing {

namespace {

constexpr size_t kSigBytes = 64;

// A public key for verifying: a PUBLIC KEY PEM, or the public half of a PRIVATE KEY PEM.
Libcrypto::Pkey load_key(const Libcrypto& c, const std::string& pem, bool want_private) {
    Handle<FILE, fclose> f(fopen(pem.c_str(), "re"));
    if (!f) throw InputError(pem + ": " + std::strerror(errno));
    auto k = c.pkey(c.pem_read_private_key(f.get(), nullptr, nullptr, nullptr));
    if (!k && !want_private) {
        rewind(f.get());
        k.reset(c.pem_read_pubkey(f.get(), nullptr, nullptr, nullptr));
    }
    if (!k)
        throw InputError(pem + ": not a PEM " +
                         std::string(want_private ? "private" : "public or private") + " key");
    if (c.pkey_get_id(k.get()) != EVP_PKEY_ED25519)
        throw InputError(pem +
                         ": not an Ed25519 key (make one with: openssl genpkey -algorithm "
                         "ed25519 -out key.pem)");
    return k;
}

std::string trim(const std::string& s) {
    auto end = s.find_last_not_of(" \t\r\n");
    return end == std::string::npos ? std::string() : s.substr(0, end + 1);
}

}  // namespace

std::string sig_path(const std::string& file) {
    return file + ".sig";
}

std::string sign(const std::string& key_pem, const std::string& data) {
    Libcrypto c;
    auto key = load_key(c, key_pem, true);
    auto ctx = c.md_ctx();
    unsigned char sig[kSigBytes];
    size_t len = sizeof sig;
    // Ed25519 signs the message itself (no separate digest): EVP_DigestSign with a null md.
    if (!ctx || c.digest_sign_init(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
        c.digest_sign(ctx.get(), sig, &len, reinterpret_cast<const unsigned char*>(data.data()),
                      data.size()) != 1 ||
        len != kSigBytes)
        throw InputError(key_pem + ": signing failed");
    std::vector<unsigned char> b64(4 * ((kSigBytes + 2) / 3) + 1);
    int n = EVP_EncodeBlock(b64.data(), sig, static_cast<int>(len));
    return std::string(b64.begin(), b64.begin() + n) + "\n";
}

void sign_file(const std::string& key_pem, const std::string& file) {
    write_file_atomic(sig_path(file), sign(key_pem, read_file(file)));
}

void verify(const std::string& key_pem, const std::string& data, const std::string& sig_text,
            const std::string& what) {
    Libcrypto c;
    auto key = load_key(c, key_pem, false);
    auto text = trim(sig_text);
    // EVP_DecodeBlock pads its output to a multiple of 3: 88 characters decode to 66 bytes.
    std::vector<unsigned char> sig(3 * (text.size() / 4) + 3);
    int n = text.size() == 88
                ? EVP_DecodeBlock(sig.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                  static_cast<int>(text.size()))
                : -1;
    // Canonical encodings only: base64's last character carries 2 unused bits, and a .sig that
    // differs from what `sign` wrote must not verify.
    std::vector<unsigned char> again(89);
    if (n != 66 || EVP_EncodeBlock(again.data(), sig.data(), static_cast<int>(kSigBytes)) != 88 ||
        text != std::string(again.begin(), again.begin() + 88))
        throw InputError(what + ": " + sig_path(what) + " is not an Ed25519 signature");
    auto ctx = c.md_ctx();
    if (!ctx || c.digest_verify_init(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
        c.digest_verify(ctx.get(), sig.data(), kSigBytes,
                        reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1)
        throw InputError(what + ": signature does not match " + key_pem +
                         " (the file or its .sig was changed, or signed with another key)");
}

std::string read_verified(const std::string& path, const std::string& trust_key) {
    // Unsigned, the file is only as safe as its owner and path; signed, the key must be.
    if (trust_key.empty()) return trust::read_trusted(path);
    trust::require_trusted(trust_key);
    auto data = read_file(path);
    std::string sig;
    try {
        sig = read_file(sig_path(path));
    } catch (const InputError&) {
        throw InputError(path + ": not signed (no " + sig_path(path) + "), and the trust key " +
                         trust_key + " requires a signature");
    }
    verify(trust_key, data, sig, path);
    return data;
}

}  // namespace bulwark::signing
