# The api_client CTest fixture: the `openai` npm package (the official JavaScript client) installed into
# <build>/api_client next to api_check.mjs (tests/support/npm_fixture.cmake), for tst_api. Included from
# tests/app/CMakeLists.txt after tst_api.
set(LATHE_API_CLIENT_DIR "${CMAKE_BINARY_DIR}/api_client")
add_test(NAME api_client
         COMMAND ${CMAKE_COMMAND} -DSRC=${CMAKE_CURRENT_LIST_DIR} -DOUT=${LATHE_API_CLIENT_DIR}
                 -DFILES=package.json,package-lock.json,api_check.mjs
                 -P ${CMAKE_CURRENT_LIST_DIR}/../support/npm_fixture.cmake)
set_tests_properties(api_client PROPERTIES FIXTURES_SETUP api_client TIMEOUT 900)
set_tests_properties(tst_api PROPERTIES FIXTURES_REQUIRED api_client)
set_property(TEST tst_api APPEND PROPERTY ENVIRONMENT "LATHE_API_CLIENT=${LATHE_API_CLIENT_DIR}")
