// `bulwark policy reload`: a new policy in force on a running instance, atomically.
#pragma once

#include <string>

#include "guard/policy.hpp"

namespace bulwark::guard {

// Puts `p` in force on a running instance at once: the idle table generation is written, then
// made current with one store, then the old one is cleared once no packet can be using it.
// A policy that fails to compile or to load leaves the old one in force (the error says why).
// Returns the new policy's summary line.
std::string reload(const std::string& name, const policy::Policy& p);

}  // namespace bulwark::guard
