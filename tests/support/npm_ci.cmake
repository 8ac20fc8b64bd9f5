# Included by the npm test-data scripts (cmake -P ...): `npm ci` in NPM_DIR, skipped when node_modules was
# installed from the same package-lock.json already (a stamp holds the lock's hash).
#
# In:  NPM (the program), NPM_DIR, NPM_EXTRA_ARGS (optional list), NPM_OMIT_OPTIONAL: install without the
#      optional dependencies, through `npm install --no-save` (`npm ci --omit=optional` refuses a lock file that,
#      as npm writes it, lacks the other platforms' optional packages).
# Out: NPM_CI_ERROR: empty on success, else why the install failed (first 400 characters of npm's stderr).
set(NPM_CI_ERROR "")
file(SHA256 "${NPM_DIR}/package-lock.json" _npm_lock_hash)
set(_npm_stamp "${NPM_DIR}/node_modules/.lathe-lock-sha256")
set(_npm_installed "")
if(EXISTS "${_npm_stamp}")
  file(READ "${_npm_stamp}" _npm_installed)
endif()
if(NOT _npm_installed STREQUAL _npm_lock_hash)
  set(_npm_command ci)
  if(NPM_OMIT_OPTIONAL)
    set(_npm_command install --no-save --omit=optional)
  endif()
  execute_process(COMMAND "${NPM}" ${_npm_command} --ignore-scripts --no-audit --no-fund --loglevel=error ${NPM_EXTRA_ARGS}
                  WORKING_DIRECTORY "${NPM_DIR}" RESULT_VARIABLE _npm_rc ERROR_VARIABLE _npm_err)
  if(_npm_rc EQUAL 0)
    file(WRITE "${_npm_stamp}" "${_npm_lock_hash}")
  else()
    string(REGEX REPLACE "[\r\n]+" " " _npm_err "${_npm_err}")
    string(SUBSTRING "${_npm_err}" 0 400 _npm_err)
    set(NPM_CI_ERROR "npm ${_npm_command} failed (registry unreachable?): ${_npm_err}")
  endif()
endif()
