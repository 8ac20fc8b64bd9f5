# The llamacpp_data CTest fixture (prepare.cmake) and its use by tst_gguf_llamacpp; included from
# tests/core/CMakeLists.txt after tst_gguf_llamacpp is defined.
set(LATHE_LLAMACPP_DATA_DIR "${CMAKE_BINARY_DIR}/llamacpp_data")
add_test(NAME llamacpp_data
         COMMAND ${CMAKE_COMMAND} -DSRC=${CMAKE_CURRENT_LIST_DIR} -DOUT=${LATHE_LLAMACPP_DATA_DIR}
                 -DSUPPORT=${CMAKE_CURRENT_LIST_DIR}/../support -P ${CMAKE_CURRENT_LIST_DIR}/prepare.cmake)
set_tests_properties(llamacpp_data PROPERTIES FIXTURES_SETUP llamacpp_data TIMEOUT 900)
set_property(TEST tst_gguf_llamacpp APPEND PROPERTY ENVIRONMENT "LATHE_LLAMACPP_DATA=${LATHE_LLAMACPP_DATA_DIR}")
