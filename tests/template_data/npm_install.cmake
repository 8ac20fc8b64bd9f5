# `npm ci` in DIR unless node_modules was already installed from the same package-lock.json.
# A failed install (no registry) is reported and leaves no renders, so the tests that need them skip.
file(SHA256 "${DIR}/package-lock.json" lock_hash)
set(stamp "${DIR}/node_modules/.lathe-lock-sha256")
if(EXISTS "${stamp}")
  file(READ "${stamp}" installed)
  if(installed STREQUAL lock_hash)
    message(STATUS "template_data: node_modules up to date")
    return()
  endif()
endif()
execute_process(COMMAND "${NPM}" ci --ignore-scripts --no-audit --no-fund
                WORKING_DIRECTORY "${DIR}" RESULT_VARIABLE rc)
if(rc EQUAL 0)
  file(WRITE "${stamp}" "${lock_hash}")
else()
  message(WARNING "template_data: npm ci failed (${rc}); the HF chat-template comparison will be skipped")
endif()
