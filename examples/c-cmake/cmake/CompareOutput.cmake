# Runs PROGRAM (optionally through EMULATOR) on INPUT and compares its
# standard output byte for byte with the file EXPECTED.
#   cmake -DPROGRAM=... -DINPUT=... -DEXPECTED=... [-DEMULATOR=...] -P CompareOutput.cmake
foreach(var PROGRAM INPUT EXPECTED)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "CompareOutput.cmake: ${var} is not set")
  endif()
endforeach()

set(command ${PROGRAM} ${INPUT})
if(EMULATOR)
  set(command ${EMULATOR} ${command})
endif()

execute_process(COMMAND ${command}
  OUTPUT_VARIABLE actual
  ERROR_VARIABLE errors
  RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} exited with ${status}:\n${errors}")
endif()

file(READ ${EXPECTED} expected)
if(NOT actual STREQUAL expected)
  get_filename_component(name ${EXPECTED} NAME)
  set(actual_file ${CMAKE_CURRENT_BINARY_DIR}/actual-${name})
  file(WRITE ${actual_file} "${actual}")
  message(FATAL_ERROR "output differs from ${EXPECTED}; actual output written to ${actual_file}")
endif()
message(STATUS "output matches ${EXPECTED}")
