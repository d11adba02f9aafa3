#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <string>

#include "../tempdir.hpp"
#include "core/error.hpp"
#include "core/signing.hpp"

using namespace bulwark;
using Catch::Matchers::Contains;

namespace {

// A temporary directory with Ed25519 key pairs made by OpenSSL, removed at the end.
struct Keys {
    TempDir tmp{"sig"};
    std::string dir = tmp.path();
    Keys() {
        make("k");
        make("other");
    }
    std::string path(const std::string& name) const { return dir + "/" + name; }
    void make(const std::string& name) {
        EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
        REQUIRE(k);
        FILE* f = fopen(path(name + ".pem").c_str(), "w");
        REQUIRE(PEM_write_PrivateKey(f, k, nullptr, nullptr, 0, nullptr, nullptr) == 1);
        fclose(f);
        f = fopen(path(name + ".pub").c_str(), "w");
        REQUIRE(PEM_write_PUBKEY(f, k) == 1);
        fclose(f);
        EVP_PKEY_free(k);
    }
    std::string write(const std::string& name, const std::string& text) const {
        std::ofstream(path(name)) << text;
        return path(name);
    }
};

}  // namespace

TEST_CASE("signatures verify with the public or the private key, and only for the same bytes",
          "[signing]") {
    Keys k;
    std::string data = "{\"defaultAction\": \"SCMP_ACT_ERRNO\"}\n";
    auto sig = signing::sign(k.path("k.pem"), data);
    CHECK(sig.size() == 89);                             // 88 base64 characters and a newline
    CHECK(sig == signing::sign(k.path("k.pem"), data));  // Ed25519 is deterministic
    CHECK_NOTHROW(signing::verify(k.path("k.pub"), data, sig, "p.json"));
    CHECK_NOTHROW(signing::verify(k.path("k.pem"), data, sig, "p.json"));
    CHECK_THROWS_WITH(signing::verify(k.path("k.pub"), data + " ", sig, "p.json"),
                      Contains("p.json: signature does not match"));
    CHECK_THROWS_WITH(signing::verify(k.path("other.pub"), data, sig, "p.json"),
                      Contains("signature does not match"));
    // Every single-bit change of the signature is refused.
    for (size_t i = 0; i < 86; ++i) {
        auto bad = sig;
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        INFO("character " << i);
        CHECK_THROWS_AS(signing::verify(k.path("k.pub"), data, bad, "p.json"), InputError);
    }
    CHECK_THROWS_WITH(signing::verify(k.path("k.pub"), data, "", "p.json"),
                      Contains("p.json.sig is not an Ed25519 signature"));
    CHECK_THROWS_WITH(signing::verify(k.path("k.pub"), data, sig.substr(0, 44), "p.json"),
                      Contains("is not an Ed25519 signature"));
}

TEST_CASE("keys: Ed25519 only, private for signing, clear errors", "[signing]") {
    Keys k;
    CHECK_THROWS_WITH(signing::sign(k.path("k.pub"), "x"),
                      Contains("k.pub: not a PEM private key"));
    CHECK_THROWS_WITH(signing::sign(k.path("absent.pem"), "x"),
                      Contains("absent.pem: No such file"));
    EVP_PKEY* ec = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    REQUIRE(ec);
    FILE* f = fopen(k.path("ec.pem").c_str(), "w");
    REQUIRE(PEM_write_PrivateKey(f, ec, nullptr, nullptr, 0, nullptr, nullptr) == 1);
    fclose(f);
    EVP_PKEY_free(ec);
    CHECK_THROWS_WITH(signing::sign(k.path("ec.pem"), "x"), Contains("not an Ed25519 key"));
    CHECK_THROWS_WITH(signing::verify(k.path("ec.pem"), "x", std::string(88, 'A'), "f"),
                      Contains("not an Ed25519 key"));
}

TEST_CASE("read_verified: the bytes returned are the bytes checked", "[signing]") {
    Keys k;
    auto file = k.write("policy.json", "{}");
    CHECK(signing::read_verified(file, "") == "{}");  // no trust key: no check
    CHECK_THROWS_WITH(signing::read_verified(file, k.path("k.pub")),
                      Contains("policy.json: not signed (no " + file + ".sig)"));
    signing::sign_file(k.path("k.pem"), file);
    CHECK(signing::read_verified(file, k.path("k.pub")) == "{}");
    k.write("policy.json", "{ }");
    CHECK_THROWS_WITH(signing::read_verified(file, k.path("k.pub")),
                      Contains("signature does not match"));
}
