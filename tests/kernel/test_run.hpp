// One BPF_PROG_TEST_RUN of an XDP program on a frame, for tests and benchmarks: the launcher's.
#pragma once

#include "guard/program.hpp"

using bulwark::xdp::test_run;
using bulwark::xdp::TestRun;
