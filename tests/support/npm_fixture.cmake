# CTest fixture script for the npm peers of a test (node-llama-cpp, openai, ...): copies FILES (comma-separated, from SRC)
# into OUT, installs the packages of OUT/package-lock.json (npm_ci.cmake; OMIT_OPTIONAL for `--omit=optional`), checks
# that REQUIRE (a path under OUT, optional) exists, and writes OUT/status.txt: "ok", or why the peer is unavailable,
# which the test reports as its skip reason.
#
#   cmake -DSRC=<dir> -DOUT=<build>/<name> -DFILES=package.json,package-lock.json,x.mjs [-DOMIT_OPTIONAL=ON]
#         [-DREQUIRE=node_modules/...] [-DREQUIRE_WHY="..."] -P npm_fixture.cmake
file(MAKE_DIRECTORY "${OUT}")
set(status "${OUT}/status.txt")
file(WRITE "${status}" "not prepared")
find_program(NODE node)
find_program(NPM npm)
if(NOT NODE OR NOT NPM)
  file(WRITE "${status}" "node/npm not found on PATH (install nodejs and npm to run this test)")
  return()
endif()
string(REPLACE "," ";" files "${FILES}")
foreach(f IN LISTS files)
  configure_file("${SRC}/${f}" "${OUT}/${f}" COPYONLY)
endforeach()
set(NPM_DIR "${OUT}")
set(NPM_OMIT_OPTIONAL ${OMIT_OPTIONAL})
include("${CMAKE_CURRENT_LIST_DIR}/npm_ci.cmake")
if(NPM_CI_ERROR)
  file(WRITE "${status}" "${NPM_CI_ERROR}")
  return()
endif()
if(REQUIRE AND NOT EXISTS "${OUT}/${REQUIRE}")
  file(WRITE "${status}" "${REQUIRE_WHY}")
  return()
endif()
file(WRITE "${status}" "ok")
