// SHA-256 (OpenSSL's primitive), for recording exactly which profile and policy ran.
#pragma once

#include <string>
#include <string_view>

namespace bulwark {

std::string sha256_hex(std::string_view data);
std::string sha256_file_hex(const std::string& path);
// SHA-256 of an open file read to its end in 64 KiB pieces: memory stays flat for big files.
std::string sha256_fd_hex(int fd, const std::string& what);
std::string to_hex(const unsigned char* bytes, size_t len);

}  // namespace bulwark
