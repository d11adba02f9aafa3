#!/usr/bin/python3
"""A kubelet's calls to a CRI runtime (containerd's CRI plugin), one per invocation, for the
kernel tests of bulwark-oci under Kubernetes' path: kubelet -> CRI -> containerd's runc shim ->
bulwark-oci. Like crictl (which Debian does not ship), with the configs as the CRI's JSON.

usage: cri.py SOCKET runp POD.json [HANDLER]        prints the sandbox ID
       cri.py SOCKET create POD_ID CTR.json POD.json prints the container ID
       cri.py SOCKET start|rm|stopp|rmp ID
       cri.py SOCKET stop ID [SECONDS]               SIGTERM, SIGKILL after SECONDS (10)
       cri.py SOCKET status ID                       prints ContainerStatus as JSON
       cri.py SOCKET update ID RESOURCES.json
       cri.py SOCKET exec ID CMD...                  its stdout and stderr; exits with its status
       cri.py SOCKET version
       cri.py --stubs DIR SOCKET ...                 any of these, the stubs kept in DIR

An RPC that fails prints its status's message on stderr and exits 1. The messages and stub are
compiled from cri.proto into DIR once (a test's fixture gives one per containerd, and removes it),
or into a scratch directory removed at exit.
"""
import atexit
import json
import os
import sys
import tempfile

import grpc
from grpc_tools import protoc
from google.protobuf import json_format

HERE = os.path.dirname(os.path.abspath(__file__))


def stubs(keep):
    """The messages and stub compiled from cri.proto, into `keep` if it has none yet."""
    if keep:
        out = keep
        os.makedirs(out, exist_ok=True)
    else:
        scratch = tempfile.TemporaryDirectory(prefix="cri-")
        atexit.register(scratch.cleanup)
        out = scratch.name
    if not os.path.exists(os.path.join(out, "cri_pb2_grpc.py")):
        proto_include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
        if protoc.main(["protoc", f"-I{HERE}", f"-I{proto_include}", f"--python_out={out}",
                        f"--grpc_python_out={out}", os.path.join(HERE, "cri.proto")]) != 0:
            sys.exit("cri.py: protoc failed on cri.proto")
    sys.path.insert(0, out)
    import cri_pb2  # noqa: E402
    import cri_pb2_grpc  # noqa: E402
    return cri_pb2, cri_pb2_grpc


def load(path, message):
    with open(path) as f:
        return json_format.ParseDict(json.load(f), message)


def main(argv):
    keep = None
    if len(argv) > 2 and argv[1] == "--stubs":
        keep, argv = argv[2], argv[:1] + argv[3:]
    if len(argv) < 3:
        sys.exit(__doc__)
    socket, cmd, args = argv[1], argv[2], argv[3:]
    pb, pb_grpc = stubs(keep)
    rt = pb_grpc.RuntimeServiceStub(grpc.insecure_channel("unix://" + socket))
    timeout = 120
    try:
        if cmd == "version":
            print(rt.Version(pb.VersionRequest(), timeout=timeout).runtime_version)
        elif cmd == "runp":
            req = pb.RunPodSandboxRequest(config=load(args[0], pb.PodSandboxConfig()),
                                          runtime_handler=args[1] if len(args) > 1 else "")
            print(rt.RunPodSandbox(req, timeout=timeout).pod_sandbox_id)
        elif cmd == "create":
            req = pb.CreateContainerRequest(pod_sandbox_id=args[0],
                                            config=load(args[1], pb.ContainerConfig()),
                                            sandbox_config=load(args[2], pb.PodSandboxConfig()))
            print(rt.CreateContainer(req, timeout=timeout).container_id)
        elif cmd == "start":
            rt.StartContainer(pb.StartContainerRequest(container_id=args[0]), timeout=timeout)
        elif cmd == "stop":
            grace = int(args[1]) if len(args) > 1 else 10
            rt.StopContainer(pb.StopContainerRequest(container_id=args[0], timeout=grace),
                             timeout=timeout)
        elif cmd == "rm":
            rt.RemoveContainer(pb.RemoveContainerRequest(container_id=args[0]), timeout=timeout)
        elif cmd == "stopp":
            rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=args[0]), timeout=timeout)
        elif cmd == "rmp":
            rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=args[0]),
                                timeout=timeout)
        elif cmd == "status":
            st = rt.ContainerStatus(pb.ContainerStatusRequest(container_id=args[0]),
                                    timeout=timeout).status
            print(json_format.MessageToJson(st, preserving_proto_field_name=True))
        elif cmd == "update":
            req = pb.UpdateContainerResourcesRequest(
                container_id=args[0], linux=load(args[1], pb.LinuxContainerResources()))
            rt.UpdateContainerResources(req, timeout=timeout)
        elif cmd == "exec":
            r = rt.ExecSync(pb.ExecSyncRequest(container_id=args[0], cmd=args[1:], timeout=60),
                            timeout=timeout)
            sys.stdout.buffer.write(r.stdout)
            sys.stderr.buffer.write(r.stderr)
            return r.exit_code
        else:
            sys.exit(__doc__)
    except grpc.RpcError as e:
        print(f"cri.py: {cmd}: {e.details()}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
