#include "digest.hpp"

#include <openssl/evp.h>

#include <memory>

#include "error.hpp"
#include "sys.hpp"

namespace bulwark {

std::string sha256_hex(const std::string& data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("EVP_Digest(sha256) failed");
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out += kHex[md[i] >> 4];
        out += kHex[md[i] & 15];
    }
    return out;
}

std::string sha256_file_hex(const std::string& path) {
    return sha256_hex(read_file(path));
}

}  // namespace bulwark
