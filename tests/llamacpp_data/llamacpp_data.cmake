# The llamacpp_data CTest fixture and its use by tst_gguf_llamacpp; included from tests/core/CMakeLists.txt after
# tst_gguf_llamacpp is defined. It installs node-llama-cpp with its prebuilt CPU llama.cpp for linux-x64 and none of
# the CUDA/Vulkan/other-platform builds (--omit=optional; the linux-x64 package is a direct dependency) next to
# probe.mjs (tests/support/npm_fixture.cmake).
set(LATHE_LLAMACPP_DATA_DIR "${CMAKE_BINARY_DIR}/llamacpp_data")
add_test(NAME llamacpp_data
         COMMAND ${CMAKE_COMMAND} -DSRC=${CMAKE_CURRENT_LIST_DIR} -DOUT=${LATHE_LLAMACPP_DATA_DIR}
                 -DFILES=package.json,package-lock.json,probe.mjs -DOMIT_OPTIONAL=ON
                 -DREQUIRE=node_modules/@node-llama-cpp/linux-x64/bins
                 "-DREQUIRE_WHY=node-llama-cpp has no prebuilt llama.cpp for this platform (only linux-x64 is installed)"
                 -P ${CMAKE_CURRENT_LIST_DIR}/../support/npm_fixture.cmake)
set_tests_properties(llamacpp_data PROPERTIES FIXTURES_SETUP llamacpp_data TIMEOUT 900)
set_property(TEST tst_gguf_llamacpp APPEND PROPERTY ENVIRONMENT "LATHE_LLAMACPP_DATA=${LATHE_LLAMACPP_DATA_DIR}")
