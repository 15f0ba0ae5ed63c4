# Finds GDCM (Debian's libgdcm-dev) by its headers and libraries, not by GDCMConfig.cmake,
# whose absolute paths break when the package is unpacked into another prefix (the GPU
# check's dpkg -x bundle). Defines the imported target GDCM::gdcm.
find_path(GDCMLibs_INCLUDE_DIR gdcmImageReader.h PATH_SUFFIXES gdcm-3.0 gdcm-3.1 gdcm-2.8)
set(_gdcm_libs MSFF IOD DSED DICT Common)
set(_gdcm_vars)
foreach(_l IN LISTS _gdcm_libs)
  find_library(GDCMLibs_${_l}_LIBRARY NAMES gdcm${_l})
  list(APPEND _gdcm_vars GDCMLibs_${_l}_LIBRARY)
  mark_as_advanced(GDCMLibs_${_l}_LIBRARY)
endforeach()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(GDCMLibs REQUIRED_VARS GDCMLibs_INCLUDE_DIR ${_gdcm_vars})

if(GDCMLibs_FOUND AND NOT TARGET GDCM::gdcm)
  add_library(GDCM::gdcm INTERFACE IMPORTED)
  set(_links)
  foreach(_l IN LISTS _gdcm_libs)
    list(APPEND _links "${GDCMLibs_${_l}_LIBRARY}")
  endforeach()
  set_target_properties(GDCM::gdcm PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${GDCMLibs_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "${_links}")
endif()
mark_as_advanced(GDCMLibs_INCLUDE_DIR)
