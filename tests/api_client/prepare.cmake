# CTest fixture "api_client": `npm ci` of the openai package into OUT beside a copy of api_check.mjs. Writes
# OUT/status.txt: "ok", or why the client is unavailable (tst_api then skips the client part with that reason).
#
#   cmake -DSRC=<tests/api_client> -DOUT=<build>/api_client -DSUPPORT=<tests/support> -P prepare.cmake
file(MAKE_DIRECTORY "${OUT}")
set(status "${OUT}/status.txt")
file(WRITE "${status}" "not prepared")
find_program(NODE node)
find_program(NPM npm)
if(NOT NODE OR NOT NPM)
  file(WRITE "${status}" "node/npm not found on PATH (install nodejs and npm to run the OpenAI client tests)")
  return()
endif()
foreach(f package.json package-lock.json api_check.mjs)
  configure_file("${SRC}/${f}" "${OUT}/${f}" COPYONLY)
endforeach()
set(NPM_DIR "${OUT}")
include("${SUPPORT}/npm_ci.cmake")
if(NPM_CI_ERROR)
  file(WRITE "${status}" "${NPM_CI_ERROR}")
  return()
endif()
file(WRITE "${status}" "ok")
