#include "core/digest.hpp"

// SHA-256 through OpenSSL's own primitive, not EVP. The first EVP digest of a process fetches
// the algorithm from the default provider, and that first fetch builds OpenSSL's name map
// (every legacy cipher and digest name, their OIDs formatted as text): ~0.7 ms measured here
// against ~15 us for SHA256_Init/Update/Final, in every `bulwark run`, which digests its profile
// and its audit lines and nothing else with OpenSSL. The primitive is deprecated in OpenSSL 3
// (still shipped and tested there); HMAC and Ed25519, used only with --audit-key and
// --trust-key, stay on EVP.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <unistd.h>

#include <cerrno>
#include <vector>

#include "core/error.hpp"
#include "core/sys.hpp"

namespace bulwark {

std::string sha256_hex(std::string_view data) {
    SHA256_CTX ctx;
    unsigned char md[SHA256_DIGEST_LENGTH];
    if (SHA256_Init(&ctx) != 1 || SHA256_Update(&ctx, data.data(), data.size()) != 1 ||
        SHA256_Final(md, &ctx) != 1)
        throw std::runtime_error("SHA256 failed");
    return to_hex(md, sizeof md);
}

std::string to_hex(const unsigned char* bytes, size_t len) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < len; ++i) {
        out += kHex[bytes[i] >> 4];
        out += kHex[bytes[i] & 15];
    }
    return out;
}

std::string sha256_fd_hex(int fd, const std::string& what) {
    SHA256_CTX ctx;
    if (SHA256_Init(&ctx) != 1) throw std::runtime_error("SHA256_Init failed");
    std::vector<char> buf(65536);
    for (;;) {
        ssize_t n = read(fd, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_sys("read(" + what + ")");
        if (n == 0) break;
        if (SHA256_Update(&ctx, buf.data(), static_cast<size_t>(n)) != 1)
            throw std::runtime_error("SHA256_Update failed");
    }
    unsigned char md[SHA256_DIGEST_LENGTH];
    if (SHA256_Final(md, &ctx) != 1) throw std::runtime_error("SHA256_Final failed");
    return to_hex(md, sizeof md);
}

std::string sha256_file_hex(const std::string& path) {
    return sha256_hex(read_file(path));
}

}  // namespace bulwark
