"""Retention and disposal (鉴定与处置): the retention clock, the due list, appraisal batches
approved by a second person, holds, destruction on every target proved by listing, tombstones
and the signed destruction list (销毁清册)."""
