# bpf_object(<name> <source.bpf.c>)
#
# Compiles one CO-RE BPF program with clang and turns it into a libbpf
# skeleton header with `bpftool gen skeleton`. Produces an INTERFACE target
# <name> whose include directory holds <stem>.skel.h, so a consumer only needs
# target_link_libraries(app <name>). Header dependencies are tracked through
# clang's depfile, so editing include/sstrace/events.h or bpf/*.bpf.h rebuilds
# the object and the skeleton.

find_program(BPF_CLANG NAMES clang clang-16 clang-15 clang-14 REQUIRED)
find_program(BPFTOOL NAMES bpftool PATHS /usr/sbin /usr/local/sbin REQUIRED)
find_program(BPF_STRIP NAMES llvm-strip llvm-strip-16 llvm-strip-15 llvm-strip-14 REQUIRED)

execute_process(COMMAND ${BPF_CLANG} --version OUTPUT_VARIABLE _bpf_clang_version)
string(REGEX MATCH "clang version ([0-9]+)" _ "${_bpf_clang_version}")
if(NOT CMAKE_MATCH_1 OR CMAKE_MATCH_1 LESS 12)
  message(FATAL_ERROR "clang >= 12 is needed for CO-RE BPF (found: ${CMAKE_MATCH_1}); run scripts/setup.sh")
endif()
execute_process(COMMAND ${BPFTOOL} gen help RESULT_VARIABLE _bpftool_gen ERROR_QUIET OUTPUT_QUIET)
if(NOT _bpftool_gen EQUAL 0)
  message(FATAL_ERROR "${BPFTOOL} has no 'gen' command; install Debian's bpftool (scripts/setup.sh)")
endif()

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|amd64")
  set(BPF_TARGET_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "aarch64|arm64")
  set(BPF_TARGET_ARCH arm64)
else()
  message(FATAL_ERROR "no vmlinux.h for ${CMAKE_SYSTEM_PROCESSOR}: run scripts/gen-vmlinux.sh on such a machine")
endif()

function(bpf_object name source)
  get_filename_component(_stem ${source} NAME_WE)
  set(_outdir ${CMAKE_CURRENT_BINARY_DIR}/bpf)
  set(_obj ${_outdir}/${_stem}.bpf.o)
  set(_stripped ${_outdir}/${_stem}.stripped.bpf.o)
  set(_skel ${_outdir}/${_stem}.skel.h)
  file(MAKE_DIRECTORY ${_outdir})

  add_custom_command(
    OUTPUT ${_obj}
    COMMAND ${BPF_CLANG} -g -O2 -target bpf -D__TARGET_ARCH_${BPF_TARGET_ARCH}
            -Wall -Wno-unused-function
            -I${PROJECT_SOURCE_DIR}/vmlinux/${BPF_TARGET_ARCH}
            -I${PROJECT_SOURCE_DIR}/include -I${PROJECT_SOURCE_DIR}/bpf
            -idirafter /usr/include
            -MD -MF ${_obj}.d
            -c ${source} -o ${_obj}
    DEPFILE ${_obj}.d
    DEPENDS ${source}
    COMMENT "BPF ${_stem}.bpf.c"
    VERBATIM)

  # DWARF is for people; libbpf needs only .BTF/.BTF.ext (CO-RE). The
  # skeleton embeds the object, so stripping it shrinks the header the
  # loader compiles from megabytes to kilobytes.
  add_custom_command(
    OUTPUT ${_stripped}
    COMMAND ${BPF_STRIP} -g ${_obj} -o ${_stripped}
    DEPENDS ${_obj}
    VERBATIM)

  add_custom_command(
    OUTPUT ${_skel}
    COMMAND ${BPFTOOL} gen skeleton ${_stripped} name ${_stem}_bpf > ${_skel}
    DEPENDS ${_stripped}
    COMMENT "skeleton ${_stem}.skel.h"
    VERBATIM)

  add_custom_target(${name}_gen DEPENDS ${_skel})
  add_library(${name} INTERFACE)
  add_dependencies(${name} ${name}_gen)
  target_include_directories(${name} INTERFACE ${_outdir})
endfunction()
