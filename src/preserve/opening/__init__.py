"""Opening records to the public (档案开放审核): access status, classification, due dates,
the two-step review (保密审查 then approval by a second person), publication and withdrawal,
full text of open records, and the published catalogue (开放档案目录)."""
