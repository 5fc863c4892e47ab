module oci-add-hooks/tests/go/oracle

go 1.19
