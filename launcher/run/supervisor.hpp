// The supervisor: the launcher's own process, outside the sandbox. Starts the sandbox, forwards
// signals, enforces the stop timeout, and turns the app's end into bulwark's exit status.
#pragma once

#include "sandbox/sandbox.hpp"

namespace bulwark::supervisor {

// Returns the exit status of `bulwark run`: the app's status, 128+N for signal N, 125 for a
// setup failure, 126/127 for an exec failure.
int run(const sandbox::Prepared& p);

// Maps a wait status to an exit code (pure).
int exit_code_of(int wait_status);

}  // namespace bulwark::supervisor
