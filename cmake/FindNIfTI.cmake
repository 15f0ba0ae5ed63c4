# Finds nifticlib (libnifti2 + libznz) directly: Debian's NIFTIConfig.cmake points at a
# library path that does not exist (/usr/lib/libznz.so.3.0.0), so it cannot be used.
# Defines the imported target NIfTI::nifti2.
find_path(NIfTI_INCLUDE_DIR nifti2_io.h PATH_SUFFIXES nifti)
find_library(NIfTI_NIFTI2_LIBRARY NAMES nifti2)
find_library(NIfTI_ZNZ_LIBRARY NAMES znz)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(NIfTI
  REQUIRED_VARS NIfTI_NIFTI2_LIBRARY NIfTI_ZNZ_LIBRARY NIfTI_INCLUDE_DIR)

if(NIfTI_FOUND AND NOT TARGET NIfTI::nifti2)
  find_package(ZLIB REQUIRED)
  add_library(NIfTI::znz UNKNOWN IMPORTED)
  set_target_properties(NIfTI::znz PROPERTIES
    IMPORTED_LOCATION "${NIfTI_ZNZ_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${NIfTI_INCLUDE_DIR}"
    INTERFACE_COMPILE_DEFINITIONS "HAVE_ZLIB"
    INTERFACE_LINK_LIBRARIES ZLIB::ZLIB)
  add_library(NIfTI::nifti2 UNKNOWN IMPORTED)
  set_target_properties(NIfTI::nifti2 PROPERTIES
    IMPORTED_LOCATION "${NIfTI_NIFTI2_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${NIfTI_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES "NIfTI::znz;m")
endif()
mark_as_advanced(NIfTI_INCLUDE_DIR NIfTI_NIFTI2_LIBRARY NIfTI_ZNZ_LIBRARY)
