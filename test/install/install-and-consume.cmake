# cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -P this file
#
# Installs the build into a fresh prefix under WORK_DIR, configures and
# builds test/install/consumer against it with find_package(sattn), and runs
# the consumer on the installed stock pattern. WORK_DIR is removed when
# everything passed and kept for a look when something failed.
foreach(var BUILD_DIR SOURCE_DIR WORK_DIR)
  if(NOT ${var})
    message(FATAL_ERROR "pass -D${var}=...")
  endif()
endforeach()
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

function(run what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE status
                  OUTPUT_VARIABLE output ERROR_VARIABLE output)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${what} failed (${status}); kept ${WORK_DIR}:\n"
                        "${output}")
  endif()
  message(STATUS "${what}: ok")
  set(last_output "${output}" PARENT_SCOPE)
endfunction()

run("cmake --install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
foreach(file include/sattn/Compiler.h include/sattn/sattn_c.h
             include/sattn/TensorView.h bin/sattn-compile bin/sattn-run
             share/sattn/patterns/power.sattn lib/cmake/sattn/sattnConfig.cmake
             lib/cmake/sattn/sattnConfigVersion.cmake)
  if(NOT EXISTS ${prefix}/${file})
    message(FATAL_ERROR "cmake --install did not install ${file}")
  endif()
endforeach()
run("configure the consumer" ${CMAKE_COMMAND} -G Ninja
    -S ${SOURCE_DIR}/test/install/consumer -B ${WORK_DIR}/consumer
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release)
run("build the consumer" ${CMAKE_COMMAND} --build ${WORK_DIR}/consumer)
run("run the consumer" ${WORK_DIR}/consumer/consumer
    ${prefix}/share/sattn/patterns/power.sattn)
message(STATUS "${last_output}")
run("installed sattn-run --version" ${prefix}/bin/sattn-run --version)
file(REMOVE_RECURSE ${WORK_DIR})
