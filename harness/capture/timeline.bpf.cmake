# Embeds the compiled BPF program in socklab: writes INPUT (timeline.bpf.o) to OUTPUT as a C++ byte array,
# kTimelineBpfObject, which timeline.cc hands to libbpf (bpf_object__open_mem). Run by harness/CMakeLists.txt:
#   cmake -DINPUT=timeline.bpf.o -DOUTPUT=timeline.bpf.o.h -P timeline.bpf.cmake
file(READ "${INPUT}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
file(WRITE "${OUTPUT}.tmp" "// Generated from harness/timeline.bpf.c by harness/timeline.bpf.cmake: do not edit.\n#pragma once\n\n"
     "alignas(8) static const unsigned char kTimelineBpfObject[] = {\n${bytes}};\n")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
