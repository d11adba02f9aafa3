// SHA-256 through OpenSSL's EVP interface, for recording exactly which profile and policy ran.
#pragma once

#include <string>

namespace bulwark {

std::string sha256_hex(const std::string& data);
std::string sha256_file_hex(const std::string& path);

}  // namespace bulwark
