# `npm ci` in DIR unless node_modules was already installed from the same package-lock.json.
# A failed install (no registry) is reported and leaves no renders, so the tests that need them skip.
set(NPM_DIR "${DIR}")
include("${CMAKE_CURRENT_LIST_DIR}/../support/npm_ci.cmake")
if(NPM_CI_ERROR)
  message(WARNING "template_data: ${NPM_CI_ERROR}; the HF chat-template comparison will be skipped")
endif()
