# The tokenizer_data CTest fixture (prepare.cmake) and its use by tst_tokenizer; included from
# tests/core/CMakeLists.txt after tst_tokenizer is defined.
set(LATHE_TOKENIZER_DATA_DIR "${CMAKE_BINARY_DIR}/tokenizer_data")
add_test(NAME tokenizer_data
         COMMAND ${CMAKE_COMMAND} -DSRC=${CMAKE_CURRENT_LIST_DIR} -DOUT=${LATHE_TOKENIZER_DATA_DIR}
                 -DSHARED=${LATHE_SHARED_DIR} -P ${CMAKE_CURRENT_LIST_DIR}/prepare.cmake)
set_tests_properties(tokenizer_data PROPERTIES FIXTURES_SETUP tokenizer_data TIMEOUT 900)
set_tests_properties(tst_tokenizer PROPERTIES FIXTURES_REQUIRED tokenizer_data)
set_property(TEST tst_tokenizer APPEND PROPERTY ENVIRONMENT "LATHE_TOKENIZER_DATA=${LATHE_TOKENIZER_DATA_DIR}")
