# CTest fixture "llamacpp_data": installs node-llama-cpp with its prebuilt CPU llama.cpp for linux-x64 (and
# none of the CUDA/Vulkan/other-platform builds: NPM_OMIT_OPTIONAL) into OUT, next to a copy of probe.mjs.
# Writes OUT/status.txt: "ok", or why llama.cpp is unavailable, which tst_gguf_llamacpp reports as its skip reason.
#
#   cmake -DSRC=<tests/llamacpp_data> -DOUT=<build>/llamacpp_data -DSUPPORT=<tests/support> -P prepare.cmake
file(MAKE_DIRECTORY "${OUT}")
set(status "${OUT}/status.txt")
file(WRITE "${status}" "not prepared")
find_program(NODE node)
find_program(NPM npm)
if(NOT NODE OR NOT NPM)
  file(WRITE "${status}" "node/npm not found on PATH (install nodejs and npm to run the llama.cpp tests)")
  return()
endif()
foreach(f package.json package-lock.json probe.mjs)
  configure_file("${SRC}/${f}" "${OUT}/${f}" COPYONLY)
endforeach()
set(NPM_DIR "${OUT}")
set(NPM_OMIT_OPTIONAL ON)
include("${SUPPORT}/npm_ci.cmake")
if(NPM_CI_ERROR)
  file(WRITE "${status}" "${NPM_CI_ERROR}")
  return()
endif()
if(NOT EXISTS "${OUT}/node_modules/@node-llama-cpp/linux-x64/bins")
  file(WRITE "${status}" "node-llama-cpp has no prebuilt llama.cpp for this platform (only linux-x64 is installed)")
  return()
endif()
file(WRITE "${status}" "ok")
