// Ed25519 detached signatures through OpenSSL's EVP interface: `bulwark sign/verify`, and the
// --trust-key check that refuses an unsigned or altered profile, policy or config.
#pragma once

#include <string>

namespace bulwark::signing {

// The signature file of FILE: FILE.sig, one line of base64 (64 bytes of Ed25519 signature).
std::string sig_path(const std::string& file);

// Signs data with the Ed25519 private key in PEM file key_pem; returns the .sig file's text.
std::string sign(const std::string& key_pem, const std::string& data);

// Writes FILE.sig for FILE's current bytes (whole, then renamed into place).
void sign_file(const std::string& key_pem, const std::string& file);

// Throws InputError naming `what` unless sig_text is key_pem's (public or private key) valid
// signature of data.
void verify(const std::string& key_pem, const std::string& data, const std::string& sig_text,
            const std::string& what);

// Reads FILE. Without a trust key (empty), refuses (InputError) a FILE others could change
// (trust::require_trusted); with one, refuses a key others could change, and reads FILE.sig too,
// refusing unless it is a valid signature of exactly the bytes returned: the bytes checked are
// the bytes parsed, wherever the file lives.
std::string read_verified(const std::string& path, const std::string& trust_key);

}  // namespace bulwark::signing
